// `npm start`: local D1 migrations, then `wrangler dev` on $PORT (8787), plus a once-a-minute
// trigger of the scheduled handler, because wrangler does not fire cron triggers locally.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";

const port = process.env.PORT ?? "8787";
const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log(
    "Created .dev.vars from .dev.vars.example (change ADMIN_TOKEN and ENCRYPTION_KEY for anything real).",
  );
}

const migrate = spawnSync(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local"], {
  stdio: "inherit",
  env: { ...process.env, CI: "true" },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// CLOUDFLARE_CF_FETCH_ENABLED=false: miniflare would otherwise try to download `Request.cf` data,
// which fails offline (harmlessly, but slowly and noisily).
// --var ENVIRONMENT:development: the committed wrangler.jsonc says production; this is local
// development (also with a .dev.vars made before it carried ENVIRONMENT).
const dev = spawn(
  bin("wrangler"),
  ["dev", "--port", port, "--ip", "127.0.0.1", "--var", "ENVIRONMENT:development", ...process.argv.slice(2)],
  {
    stdio: "inherit",
    env: { CLOUDFLARE_CF_FETCH_ENABLED: "false", ...process.env },
  },
);

// Fire the scheduled handler at the top of every minute, like Cron Triggers do when deployed.
const tick = async () => {
  try {
    await fetch(`http://127.0.0.1:${port}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("* * * * *")}`);
  } catch {
    // wrangler dev not listening yet; the next tick will catch up (the scheduler catches up by design).
  }
};
let timer;
const schedule = () => {
  timer = setTimeout(
    async () => {
      await tick();
      schedule();
    },
    60_000 - (Date.now() % 60_000) + 500,
  );
};
schedule();

const stop = (signal) => {
  clearTimeout(timer);
  dev.kill(signal);
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
dev.on("exit", (code) => {
  clearTimeout(timer);
  process.exit(code ?? 0);
});
