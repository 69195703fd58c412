// `npm run bench [name …]`: runs the benchmarks one after another (all of them by default); each
// writes its own section of bench/RESULTS.md. They start their own `wrangler dev` on loopback ports.
import { spawnSync } from "node:child_process";

const ALL = ["contacts", "fanout", "ratelimit", "scheduler", "latency", "crash"];
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ALL;

for (const name of chosen) {
  if (!ALL.includes(name)) {
    console.error(`unknown benchmark ${name}; choose from ${ALL.join(", ")}`);
    process.exit(2);
  }
  console.log(`\n== bench/${name}`);
  const run = spawnSync(process.execPath, [`bench/${name}/run.mjs`], { stdio: "inherit" });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
