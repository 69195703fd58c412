// bench/ratelimit: a carrier pool at mps 5 and at mps 50, and a pool at 50 whose tenant the operator
// held to 10 (`PATCH /v1/tenants/{id} {mps: 10}`), each fed more messages than it may send at once.
// Reports the most messages the carrier double saw in any one-second window (never above the rate plus
// one bucket of burst, i.e. 2 × rate) and the achieved average rate (target: within 10 % of the rate,
// the lower of the pool's and the tenant's) in bench/RESULTS.md ("ratelimit").
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
/** `carrier`: the pool's mps; `tenant`: the tenant's mps, set by the operator (absent: the default 100). */
const CASES = [{ carrier: 5 }, { carrier: 50 }, { carrier: 50, tenant: 10 }];

/**
 * Sends `rate × SECONDS` messages through a fresh tenant (its mps set through the operator API when
 * the case names one) and a carrier at `carrier`; measures the arrivals against the lower rate.
 */
async function run(w, double, { carrier, tenant: tenantMps }, offset) {
  const admin = devVars();
  const mps = Math.min(carrier, tenantMps ?? carrier);
  const { api_key: key, tenant } = await api(w.base, "POST", "/v1/tenants", {
    key: admin,
    body: { name: `Rate ${carrier}${tenantMps ? ` held to ${tenantMps}` : ""}` },
  });
  if (tenantMps)
    await api(w.base, "PATCH", `/v1/tenants/${tenant.id}`, { key: admin, body: { mps: tenantMps } });
  await api(w.base, "POST", "/v1/carriers", {
    key,
    body: {
      provider: "twilio",
      name: `pool at ${carrier}`,
      credentials: {
        account_sid: "AC00000000000000000000000000000000",
        auth_token: "0123456789abcdef0123456789abcdef",
      },
      from: ["+15005550006"],
      base_url: double.url,
      mps: carrier,
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
    label: tenantMps ? `${mps} (pool ${carrier}, tenant ${tenantMps})` : String(mps),
    n,
    got,
    maxWindow: maxInWindow(t, 1000),
    average,
    steadyRate,
    seconds: (last - first) / 1000,
  };
  console.log(
    `mps ${result.label}: ${got}/${n} in ${result.seconds.toFixed(1)} s; max in any 1 s window ${result.maxWindow} (limit ${2 * mps}); average ${average.toFixed(2)}/s; after the first second ${steadyRate.toFixed(2)}/s`,
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
    for (const [i, c] of CASES.entries()) {
      results.push(await run(w, double, c, i * 10_000));
      await sleep(1000);
    }
  } finally {
    await w.stop();
  }
  const rows = results.map(
    (r) =>
      `| ${r.label} | ${r.n} | ${r.got} | ${r.seconds.toFixed(1)} | ${r.maxWindow} (≤ ${2 * r.mps}: ${r.maxWindow <= 2 * r.mps ? "yes" : "NO"}) | ${r.average.toFixed(2)} (${(((r.average - r.mps) / r.mps) * 100).toFixed(1)} %) | ${r.steadyRate.toFixed(2)} |`,
  );
  await writeSection(
    "ratelimit",
    `
Run: \`node bench/ratelimit/run.mjs\` on ${new Date().toISOString().slice(0, 10)} (2 cores, \`wrangler dev\`, loopback
Twilio-shaped double). One carrier pool per rate, fed ${SECONDS} s worth of messages at once through \`POST /v1/messages\`;
in the last row the pool allows 50/s but the operator held the tenant to 10/s (\`PATCH /v1/tenants/{id}\`).
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
