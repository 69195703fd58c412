// bench/fanout: N messages through Herald and, in the same run, through a bare Worker that only
// relays queued ids to the same loopback Twilio-shaped double. Two measurements:
//   1. fan-out: N messages already in the outbox are released by one scheduler tick (Herald: sweep →
//      queue → dispatcher → double) vs one request that queues N ids (bare: queue → relay → double);
//   2. end to end: N `POST /v1/messages` (Herald) vs N `POST /send` (bare), each through to the double.
// Writes both rates and their ratio to bench/RESULTS.md ("fanout"). Target: Herald ≥ 50 % of bare.
//
//   node bench/fanout/run.mjs            (BENCH_FANOUT_N=5000, BENCH_CONCURRENCY=32)
import { join } from "node:path";
import {
  api,
  devVars,
  phoneFor,
  pool,
  ROOT,
  sleep,
  startTwilioDouble,
  startWrangler,
  waitFor,
  writeSection,
} from "./harness.mjs";

const N = Number(process.env.BENCH_FANOUT_N ?? 5000);
/** BENCH_FANOUT_QUICK=1: fan-out rounds only, printed, RESULTS.md left alone (for trying a change). */
const QUICK = process.env.BENCH_FANOUT_QUICK === "1";
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const WARMUP = 50;
const DRAIN_TIMEOUT_MS = 10 * 60_000;
const now = () => performance.timeOrigin + performance.now();

/** Waits for `expected` arrivals at the double after `t0` and reports the rate. */
async function drain(label, double, t0, expected, extra = {}) {
  const got = await waitFor(() => double.arrivals.length, expected, DRAIN_TIMEOUT_MS);
  const last = double.arrivals.length > 0 ? Math.max(...double.arrivals) : now();
  const seconds = (last - t0) / 1000;
  const r = { label, sent: expected, delivered: got, seconds, rate: got / seconds, ...extra };
  console.log(
    `${label}: ${got}/${expected} at the double in ${seconds.toFixed(1)} s → ${r.rate.toFixed(0)} msg/s`,
  );
  return r;
}

/** Sends `n` requests through `send(i)`, `CONCURRENCY` at a time, and waits for them at the double. */
async function endToEnd(label, double, n, send) {
  double.reset();
  const t0 = now();
  let failed = 0;
  await pool(n, CONCURRENCY, async (i) => {
    try {
      await send(i);
    } catch (err) {
      failed += 1;
      if (failed <= 3) console.error(`${label}: request ${i} failed: ${err.message}`);
    }
  });
  return drain(label, double, t0, n - failed, { apiSeconds: (now() - t0) / 1000, failed });
}

const CARRIER = (double) => ({
  provider: "twilio",
  name: "double",
  credentials: {
    account_sid: "AC00000000000000000000000000000000",
    auth_token: "0123456789abcdef0123456789abcdef",
  },
  from: ["+15005550006"],
  base_url: double.url,
  mps: 10_000,
});

// Five alternating rounds: on a shared 2-core machine single rounds swing by ±10 points.
const ROUNDS = Number(process.env.BENCH_FANOUT_ROUNDS ?? 5);
const TICK = `/cdn-cgi/local/scheduled?cron=${encodeURIComponent("* * * * *")}`;
/** Fan-out rows are due from here on: far enough ahead that none is due while the rows are written. */
const FAN_AT = Date.now() + 6 * 3_600_000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Writes `rows` (POST /v1/messages bodies) through the public API: `POST /v1/messages/batch`, 1,000
 * a request, where the deployment has it (PRODUCT.md), else one `POST /v1/messages` each.
 */
async function writeMessages(base, key, rows) {
  const batch = (messages) =>
    fetch(`${base}/v1/messages/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ messages }),
    });
  const chunks = [];
  for (let i = 0; i < rows.length; i += 1000) chunks.push(rows.slice(i, i + 1000));
  const check = async (res) => {
    const text = await res.text();
    if (res.status >= 300) throw new Error(`POST /v1/messages/batch → ${res.status}: ${text.slice(0, 500)}`);
    const failed = JSON.parse(text).failed ?? [];
    if (failed.length > 0) throw new Error(`batch rows failed: ${JSON.stringify(failed.slice(0, 3))}`);
  };
  const first = await batch(chunks[0] ?? []);
  if (first.status !== 404) {
    await check(first);
    await pool(chunks.length - 1, 2, async (i) => check(await batch(chunks[i + 1])));
    return "POST /v1/messages/batch";
  }
  await first.arrayBuffer();
  await pool(rows.length, CONCURRENCY, (i) => api(base, "POST", "/v1/messages", { key, body: rows[i] }));
  return "POST /v1/messages, one each";
}

/** Herald and the bare Worker run side by side; fan-out rounds alternate between them. */
async function main(double) {
  const admin = devVars();
  const h = await startWrangler({ name: "fanout-herald", migrate: true });
  const b = await startWrangler({
    name: "fanout-bare",
    config: join(ROOT, "bench/fanout/bare-worker/wrangler.jsonc"),
    vars: { DOUBLE_URL: double.url },
    readyPath: "/",
  });
  try {
    const { api_key: key, tenant } = await api(h.base, "POST", "/v1/tenants", {
      key: admin,
      body: { name: "Fanout bench" },
    });
    // The tenant-wide bucket defaults to 100 segments/s; this measures the pipeline, not that limit:
    // the operator raises it to the most a tenant may have (10,000/s, the carrier's rate too).
    await api(h.base, "PATCH", `/v1/tenants/${tenant.id}`, { key: admin, body: { mps: 10_000 } });
    await api(h.base, "POST", "/v1/carriers", { key, body: CARRIER(double) });
    const heraldSend =
      (offset, extra = {}) =>
      (i) =>
        api(h.base, "POST", "/v1/messages", {
          key,
          body: { to: phoneFor(offset + i), body: `Fanout bench message ${offset + i}`, ...extra },
        });
    const bareSend = (offset) => (i) => api(b.base, "POST", "/send", { body: { to: phoneFor(offset + i) } });
    await endToEnd("herald warm-up", double, WARMUP, heraldSend(90_000));
    await endToEnd("bare warm-up", double, WARMUP, bareSend(90_000));

    // Fan-out: each round's N outbox rows are written through the API first (not measured), round r
    // with its own send_at, hours ahead; round r's tick runs at that time (the scheduled handler's
    // `time`, the tick's clock) and releases exactly those rows. No row is rewritten in D1.
    const sendAt = (r) => FAN_AT + r * 60_000;
    const seedT0 = now();
    // The same N phones every round (their sticky senders exist from round 1 on, as when rounds
    // reused their rows), each row its own body (no duplicate suppression).
    const fanRows = Array.from({ length: N * ROUNDS }, (_, i) => ({
      to: phoneFor(20_000 + (i % N)),
      body: `Fanout bench message ${20_000 + i}`,
      send_at: new Date(sendAt(Math.floor(i / N))).toISOString(),
    }));
    const how = await writeMessages(h.base, key, fanRows);
    console.log(
      `fan-out rows written through the API (${how}): ${fanRows.length} in ${((now() - seedT0) / 1000).toFixed(1)} s`,
    );
    const fan = { herald: [], bare: [] };
    for (let r = 0; r < ROUNDS; r++) {
      double.reset();
      let t0 = now();
      await (await fetch(`${h.base}${TICK}&time=${sendAt(r) + 1000}`)).arrayBuffer();
      fan.herald.push(await drain(`herald fan-out round ${r + 1} (one tick → N sends)`, double, t0, N));
      await sleep(1500);
      double.reset();
      t0 = now();
      await api(b.base, "POST", "/fanout", { body: { n: N, offset: 20_000 + r * N } });
      fan.bare.push(await drain(`bare fan-out round ${r + 1} (one request → N sends)`, double, t0, N));
      await sleep(1500);
    }

    if (QUICK) return { fan, e2e: null };
    // End to end through each one's API.
    const e2e = {
      herald: await endToEnd("herald end to end (N × POST /v1/messages)", double, N, heraldSend(0)),
      bare: await endToEnd("bare end to end (N × POST /send)", double, N, bareSend(0)),
    };
    return { fan, e2e };
  } finally {
    await h.stop();
    await b.stop();
  }
}

const double = await startTwilioDouble();
const hardStop = setTimeout(() => {
  console.error("fanout: hard time limit reached");
  process.exit(2);
}, 40 * 60_000);
try {
  const { fan, e2e } = await main(double);
  const hRate = median(fan.herald.map((r) => r.rate));
  const bRate = median(fan.bare.map((r) => r.rate));
  const fanRatio = hRate / bRate;
  console.log(
    `fan-out herald/bare = ${(fanRatio * 100).toFixed(1)} % (medians); by round ${fan.herald
      .map((h, i) => `${((h.rate / (fan.bare[i]?.rate ?? Number.NaN)) * 100).toFixed(0)} %`)
      .join(", ")}`,
  );
  if (e2e) await record(fan, e2e, hRate, bRate, fanRatio);
} finally {
  clearTimeout(hardStop);
  await double.close();
}

async function record(fan, e2e, hRate, bRate, fanRatio) {
  const e2eRatio = e2e.herald.rate / e2e.bare.rate;
  console.log(`end to end herald/bare = ${(e2eRatio * 100).toFixed(1)} %`);
  const row = (r) =>
    `| ${r.label} | ${r.sent} | ${r.delivered} | ${r.seconds.toFixed(1)} | ${r.rate.toFixed(0)} |`;
  await writeSection(
    "fanout",
    `
Run: \`node bench/fanout/run.mjs\` on ${new Date().toISOString().slice(0, 10)}, N = ${N}, on the shared 2-core machine
(\`wrangler dev\` with local D1/Queues/DOs, loopback Twilio-shaped double, ${CONCURRENCY} concurrent requests,
${WARMUP}-message warm-ups left out). Herald and the bare Worker run side by side; fan-out rounds alternate
between them. Rate = messages that reached the double ÷ (last arrival − start).

- *fan-out*: N rows already in the outbox (created with \`send_at\`) released by one scheduler
  tick — sweep → queue → dispatcher (re-checks, token buckets, claim, sticky sender, carrier call, result
  batch, status events) → double; the bare Worker gets one request that queues N ids, and its consumer
  relays each id. Every round releases its own N rows, all written through the API beforehand with the
  round's \`send_at\` (the tick runs at that time); the tenant's \`mps\` is 10,000 (\`PATCH /v1/tenants/{id}\`).
- *end to end*: N \`POST /v1/messages\` (auth, idempotency, sending rules 1–5, outbox insert, enqueue,
  dispatch) vs N \`POST /send\` to the bare Worker (queue one id).

| pipeline | sent | reached the double | seconds | msg/s |
|---|---|---|---|---|
${[...fan.herald, ...fan.bare].map(row).join("\n")}
${row(e2e.herald)}
${row(e2e.bare)}

Round by round (each Herald round ÷ the bare round right after it): ${fan.herald
      .map((h, i) => `${((h.rate / (fan.bare[i]?.rate ?? Number.NaN)) * 100).toFixed(0)} %`)
      .join(", ")}.

**Fan-out: Herald / bare = ${(fanRatio * 100).toFixed(1)} %** (medians ${hRate.toFixed(0)} vs ${bRate.toFixed(0)} msg/s; target ≥ 50 %: ${fanRatio >= 0.5 ? "met" : "not met"}).
End to end: Herald / bare = ${(e2eRatio * 100).toFixed(1)} % (per-request API work dominates there).
`,
  );
}
