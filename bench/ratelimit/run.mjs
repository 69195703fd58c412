// bench/ratelimit: a carrier pool at mps 5 and at mps 50, fed more messages than it may send at once.
// Reports the most messages the carrier double saw in any one-second window (never above mps plus one
// bucket of burst, i.e. 2 × mps) and the achieved average rate (target: within 10 % of mps) in
// bench/RESULTS.md ("ratelimit").
//
//   node bench/ratelimit/run.mjs         (BENCH_RATELIMIT_SECONDS=20 of traffic per rate)
import {
  api,
  devVars,
  maxInWindow,
  phoneFor,
  pool,
  sleep,
  startTwilioDouble,
  startWrangler,
  waitFor,
  writeSection,
} from "../fanout/harness.mjs";

const SECONDS = Number(process.env.BENCH_RATELIMIT_SECONDS ?? 20);
const RATES = [5, 50];

/** Sends `mps × SECONDS` messages through a fresh tenant and carrier at `mps`; measures the arrivals. */
async function run(w, double, mps, offset) {
  const admin = devVars();
  const { api_key: key } = await api(w.base, "POST", "/v1/tenants", {
    key: admin,
    body: { name: `Rate ${mps}` },
  });
  await api(w.base, "POST", "/v1/carriers", {
    key,
    body: {
      provider: "twilio",
      name: `pool at ${mps}`,
      credentials: {
        account_sid: "AC00000000000000000000000000000000",
        auth_token: "0123456789abcdef0123456789abcdef",
      },
      from: ["+15005550006"],
      base_url: double.url,
      mps,
    },
  });
  const n = mps * SECONDS;
  double.reset();
  await pool(n, 16, (i) =>
    api(w.base, "POST", "/v1/messages", {
      key,
      body: { to: phoneFor(offset + i), body: `Rate bench ${mps}/s #${i}` },
    }),
  );
  const got = await waitFor(() => double.arrivals.length, n, (SECONDS * 4 + 120) * 1000);
  const t = [...double.arrivals].sort((a, b) => a - b);
  const first = t[0] ?? 0;
  const last = t[t.length - 1] ?? 0;
  // n messages occupy n slots of 1/mps s: the first at `first`, the last ends 1/mps after `last`.
  const average = got / ((last - first) / 1000 + 1 / mps);
  const steady = t.filter((x) => x >= first + 1000);
  const steadyRate = steady.length > 1 ? (steady.length - 1) / ((last - (steady[0] ?? last)) / 1000) : 0;
  const result = {
    mps,
    n,
    got,
    maxWindow: maxInWindow(t, 1000),
    average,
    steadyRate,
    seconds: (last - first) / 1000,
  };
  console.log(
    `mps ${mps}: ${got}/${n} in ${result.seconds.toFixed(1)} s; max in any 1 s window ${result.maxWindow} (limit ${2 * mps}); average ${average.toFixed(2)}/s; after the first second ${steadyRate.toFixed(2)}/s`,
  );
  return result;
}

const double = await startTwilioDouble();
const hardStop = setTimeout(() => {
  console.error("ratelimit: hard time limit reached");
  process.exit(2);
}, 20 * 60_000);
const results = [];
try {
  const w = await startWrangler({ name: "ratelimit", migrate: true });
  try {
    for (const [i, mps] of RATES.entries()) {
      results.push(await run(w, double, mps, i * 10_000));
      await sleep(1000);
    }
  } finally {
    await w.stop();
  }
  const rows = results.map(
    (r) =>
      `| ${r.mps} | ${r.n} | ${r.got} | ${r.seconds.toFixed(1)} | ${r.maxWindow} (≤ ${2 * r.mps}: ${r.maxWindow <= 2 * r.mps ? "yes" : "NO"}) | ${r.average.toFixed(2)} (${(((r.average - r.mps) / r.mps) * 100).toFixed(1)} %) | ${r.steadyRate.toFixed(2)} |`,
  );
  await writeSection(
    "ratelimit",
    `
Run: \`node bench/ratelimit/run.mjs\` on ${new Date().toISOString().slice(0, 10)} (2 cores, \`wrangler dev\`, loopback
Twilio-shaped double). One carrier pool per rate, fed ${SECONDS} s worth of messages at once through \`POST /v1/messages\`.
Max window = most arrivals at the double in any sliding 1-s window (bound: mps + one bucket of burst = 2 × mps).
Average = arrivals ÷ (last − first arrival + 1/mps); the steady column leaves out the first second (the full bucket).

| mps | sent | reached the double | span (s) | max in 1 s | average msg/s (vs mps) | after first second |
|---|---|---|---|---|---|---|
${rows.join("\n")}
`,
  );
} finally {
  clearTimeout(hardStop);
  await double.close();
}
