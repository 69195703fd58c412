// bench/latency: signed Standard-Webhooks `order.delayed` hooks at a steady rate into `wrangler dev`;
// time from each hook request to its carrier request at a loopback Twilio double. Baseline in the
// same run: direct transactional `POST /v1/messages` at the same rate. Writes the "latency" section
// of bench/RESULTS.md. Target: hook → carrier p99 ≤ 250 ms.
//
//   node bench/latency/run.mjs      (BENCH_LATENCY_RATE=20 per second, BENCH_LATENCY_SECONDS=30)
//
// The Worker is bundled once and served as built (no rebuilds mid-run). It runs twice: with the
// committed wrangler.jsonc settings, and with queue consumers at `max_batch_timeout = 0` (the
// consumer's batch wait is the largest part of the latency), so that setting's effect is measured.
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import {
  api,
  devVars,
  ROOT,
  sleep,
  startTwilioDouble,
  startWrangler,
  writeSection,
} from "../fanout/harness.mjs";

const RATE = Number(process.env.BENCH_LATENCY_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 30);
const WARMUP = 20;
const DRAIN_MS = 15_000;
const PORT = 8796;
const CONTACTS = 20;

const now = () => performance.timeOrigin + performance.now();

/** The loopback Twilio double, recording when each tagged body first arrived. */
async function startDouble() {
  const tagged = new Map();
  const double = await startTwilioDouble({
    onMessage: (form, at) => {
      const tag = form.get("Body")?.match(/#(L[a-z]\d+)/)?.[1];
      if (tag && !tagged.has(tag)) tagged.set(tag, at);
    },
  });
  return { url: double.url, arrivals: tagged, close: double.close };
}

/** Standard Webhooks signature: v1,base64(HMAC-SHA256(key = base64 after whsec_, "id.ts.body")). */
function signStandard(secret, id, ts, body) {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64")}`;
}

const percentile = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;

function summary(label, sentAt, arrivals, responseMs) {
  const lat = [];
  let lost = 0;
  for (const [tag, t0] of sentAt) {
    const at = arrivals.get(tag);
    if (at === undefined) lost += 1;
    else lat.push(at - t0);
  }
  if (process.env.BENCH_LATENCY_VERBOSE) {
    // Worst latency per second of the run: tells a warm-up tail from stalls spread over the run.
    const first = Math.min(...sentAt.values());
    const perSecond = new Map();
    for (const [tag, t0] of sentAt) {
      const at = arrivals.get(tag);
      if (at === undefined) continue;
      const sec = Math.floor((t0 - first) / 1000);
      perSecond.set(sec, Math.max(perSecond.get(sec) ?? 0, at - t0));
    }
    console.log(
      `${label} worst per second: ${[...perSecond.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([, v]) => v.toFixed(0))
        .join(" ")}`,
    );
  }
  lat.sort((a, b) => a - b);
  const resp = [...responseMs].sort((a, b) => a - b);
  const r = {
    label,
    sent: sentAt.size,
    arrived: lat.length,
    lost,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat[lat.length - 1] ?? NaN,
    respP50: percentile(resp, 50),
    respP99: percentile(resp, 99),
  };
  console.log(
    `${label}: ${r.arrived}/${r.sent} at the carrier; p50 ${r.p50?.toFixed(0)} ms, p99 ${r.p99?.toFixed(0)} ms, max ${r.max?.toFixed(0)} ms (HTTP answer p50 ${r.respP50?.toFixed(0)} ms, p99 ${r.respP99?.toFixed(0)} ms)`,
  );
  return r;
}

/** Fires `send(i)` at a steady `RATE` per second for `SECONDS` (warm-up first, not measured). */
async function steady(label, double, send) {
  const sentAt = new Map();
  const responseMs = [];
  const inflight = [];
  const total = WARMUP + RATE * SECONDS;
  const start = now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    const tag = `L${label[0]}${i}`;
    const t0 = now();
    if (i >= WARMUP) sentAt.set(tag, t0);
    inflight.push(
      send(i, tag)
        .then(() => i >= WARMUP && responseMs.push(now() - t0))
        .catch((err) => console.error(`${label} ${i}: ${err.message}`)),
    );
  }
  await Promise.all(inflight);
  const until = now() + DRAIN_MS;
  while (now() < until && [...sentAt.keys()].some((t) => !double.arrivals.has(t))) await sleep(100);
  return summary(label, sentAt, double.arrivals, responseMs);
}

/**
 * Bundles the Worker once (wrangler deploy --dry-run) and returns a config that serves that bundle
 * as is: `wrangler dev` on src/ would rebuild and restart whenever a source file changes during
 * the run, and those restarts would be measured as latency.
 */
function buildBundle() {
  const out = join(ROOT, "bench/.tmp/latency-build");
  rmSync(out, { recursive: true, force: true });
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", out],
    {
      cwd: ROOT,
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 180_000,
    },
  );
  if (r.status !== 0) throw new Error(`bundling failed: ${r.stderr || r.stdout}`);
  return out;
}

/**
 * A copy of wrangler.jsonc (with .dev.vars beside it) serving the prebuilt bundle; with
 * `dispatchWaitSeconds`, the dispatch consumer's `max_batch_timeout` is set to it.
 */
function benchConfig(name, bundleDir, dispatchWaitSeconds) {
  const dir = join(ROOT, "bench/.tmp", `latency-config-${name}`);
  mkdirSync(dir, { recursive: true });
  const edit = (text, pattern, replacement) => {
    if (!pattern.test(text)) throw new Error(`wrangler.jsonc: ${pattern} not found`);
    return text.replace(pattern, replacement);
  };
  let jsonc = readFileSync(join(ROOT, "wrangler.jsonc"), "utf8");
  jsonc = edit(
    jsonc,
    /^(\s*)"main": "src\/index.ts",/m,
    `$1"main": ${JSON.stringify(relative(dir, join(bundleDir, "index.js")))},\n$1"no_bundle": true,`,
  );
  jsonc = edit(
    jsonc,
    /"migrations_dir": "migrations"/,
    `"migrations_dir": ${JSON.stringify(relative(dir, join(ROOT, "migrations")))}`,
  );
  if (dispatchWaitSeconds !== undefined) {
    jsonc = edit(
      jsonc,
      /("queue": "herald-dispatch",\s*"max_batch_size": \d+,\s*)"max_batch_timeout": \d+/,
      `$1"max_batch_timeout": ${dispatchWaitSeconds}`,
    );
  }
  writeFileSync(join(dir, "wrangler.jsonc"), jsonc);
  copyFileSync(join(ROOT, ".dev.vars"), join(dir, ".dev.vars"));
  return join(dir, "wrangler.jsonc");
}

async function run(label, config) {
  const admin = devVars();
  const double = await startDouble();
  const w = await startWrangler({
    name: `latency-${label}`,
    port: PORT,
    migrate: true,
    ...(config ? { config } : {}),
  });
  try {
    const { api_key: key } = await api(w.base, "POST", "/v1/tenants", {
      key: admin,
      body: { name: "Latency bench", brand_name: "Northwind" },
    });
    // Quiet hours placed away from the current New York hour: program messages enforce them.
    const hour = Number(
      new Intl.DateTimeFormat("en-US", {
        timeZone: "America/New_York",
        hour: "2-digit",
        hourCycle: "h23",
      }).format(new Date()),
    );
    const hh = (h) => `${String(h % 24).padStart(2, "0")}:00`;
    await api(w.base, "PATCH", "/v1/tenant", {
      key,
      body: { quiet_hours: { start: hh(hour + 3), end: hh(hour + 4) } },
    });
    await api(w.base, "POST", "/v1/carriers", {
      key,
      body: {
        provider: "twilio",
        credentials: {
          account_sid: "AC00000000000000000000000000000000",
          auth_token: "0123456789abcdef0123456789abcdef",
        },
        from: ["+12125550100"],
        base_url: double.url,
        mps: 1000,
      },
    });
    await api(w.base, "POST", "/v1/programs", {
      key,
      body: { name: "Delivery delays", kind: "delivery_delay" },
    });
    const integration = await api(w.base, "POST", "/v1/integrations", { key, body: { type: "standard" } });
    const phones = Array.from({ length: CONTACTS }, (_, i) => `+1212555${String(1000 + i)}`);
    for (const phone of phones) {
      await api(w.base, "POST", "/v1/contacts", {
        key,
        body: { phone, first_name: "Ada", timezone: "America/New_York" },
      });
    }

    const hook = await steady("hook", double, async (i, tag) => {
      const body = JSON.stringify({
        name: "order.delayed",
        contact: { phone: phones[i % CONTACTS] },
        data: { order_name: `#${tag}`, estimated_delivery_at: "2026-12-03T17:00:00-05:00" },
      });
      const id = `msg_bench_${tag}`;
      const ts = Math.floor(Date.now() / 1000);
      const res = await fetch(`${w.base}/hooks/${integration.id}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "webhook-id": id,
          "webhook-timestamp": String(ts),
          "webhook-signature": signStandard(integration.secret, id, ts, body),
        },
        body,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`hook → ${res.status}`);
    });

    const direct = await steady("direct", double, async (i, tag) => {
      await api(w.base, "POST", "/v1/messages", {
        key,
        body: { to: phones[i % CONTACTS], body: `Northwind: your order #${tag} is running late.` },
      });
    });

    if (hook.lost > 0 || direct.lost > 0) {
      // Say why some never reached the carrier (status and reason of the latest messages).
      const recent = await api(w.base, "GET", "/v1/messages?limit=5", { key });
      for (const m of recent.data)
        console.error(`  ${m.id} ${m.status} ${m.status_reason ?? ""} ${m.error_message ?? ""}`);
    }
    return { hook, direct };
  } finally {
    await w.stop();
    await double.close();
  }
}

const ms = (v) => (Number.isFinite(v) ? `${v.toFixed(0)}` : "–");
const row = (config, r) =>
  `| ${config} | ${r.label === "hook" ? "signed hook → event → program → carrier" : "baseline: POST /v1/messages → carrier"} | ${r.sent} | ${r.arrived} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${ms(r.respP50)} / ${ms(r.respP99)} |`;

async function main() {
  const only = process.env.BENCH_LATENCY_ONLY;
  if (only) {
    // Exploration: one configuration, printed only (RESULTS.md keeps the full comparison).
    await run(only, benchConfig(only, buildBundle(), only === "wait-1s" ? 1 : undefined));
    return;
  }
  const bundle = buildBundle();
  const committed = await run("committed", benchConfig("committed", bundle));
  const waiting = await run("wait-1s", benchConfig("wait-1s", bundle, 1));
  const met = committed.hook.lost === 0 && committed.hook.p99 <= 250;
  await writeSection(
    "latency",
    `Run: \`node bench/latency/run.mjs\` on ${new Date().toISOString().slice(0, 10)} (2 cores shared with other work, \`wrangler dev\` local D1/Queues, loopback Twilio-shaped double, contacts outside quiet hours).
${RATE} requests/s for ${SECONDS} s per pipeline (${WARMUP} warm-up requests excluded). Latency = arrival of the carrier request at the double − start of the HTTP request that caused it.
The Worker is bundled once and served as built. Each configuration is measured with its own baseline in the same \`wrangler dev\`: "committed" is wrangler.jsonc as it is (dispatch consumer \`max_batch_timeout = 0\`); "wait-1s" is a copy whose dispatch consumer waits up to 1 s for a batch.

| config | pipeline | sent | reached the double | p50 (ms) | p99 (ms) | max (ms) | HTTP answer p50 / p99 (ms) |
|---|---|---|---|---|---|---|---|
${row("committed", committed.hook)}
${row("committed", committed.direct)}
${row("wait-1s", waiting.hook)}
${row("wait-1s", waiting.direct)}

**Hook → carrier p99 = ${ms(committed.hook.p99)} ms with the committed configuration** (target ≤ 250 ms: ${met ? "met" : "not met"}); ${ms(waiting.hook.p99)} ms when the dispatch consumer waits 1 s for a batch.

Reading: the dispatch consumer's batch wait dominates when it is on; without it, what remains on the hook pipeline is its own work on the one local D1 database (storing the delivery, resolving the contact, recording the event, running the programs, writing the outbox: 14 D1 round trips) and the dispatcher's. p99 is sensitive to anything else running on this 2-core machine: a compile in parallel lifted it to ~560 ms in one exploratory run.`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
