// bench/crash: kill -9 right after a burst of Shopify hooks were answered 200; after a restart on
// the same local state, every customer must be apologised to exactly once (PRODUCT.md, "hook and
// webhook recovery"; issue 9, defect 5).
//
//   node bench/crash/run.mjs     (CRASH_CUSTOMERS=50, CRASH_RECOVERY_SECONDS=300,
//                                 CRASH_KILL_AFTER=<k> to kill after k of the N 200s, mid-burst)
//
// 1. `wrangler dev` on a fresh `--persist-to` folder (development mode: loopback http carrier).
// 2. A tenant, a Twilio carrier whose base_url is a loopback Twilio double, a Shopify integration,
//    a delivery_delay program sending 1 minute after the event; signed `orders/create` hooks for N
//    customers, until all are contacts.
// 3. A burst of N signed `fulfillment_events/create` (status `delayed`) hooks; the moment the last
//    one is answered 200, SIGKILL to the whole wrangler/workerd process group: the local queues
//    (and any work in flight) die with it. With CRASH_KILL_AFTER=k the kill comes once k hooks
//    were answered 200, the rest still in flight; after the restart every hook that was not
//    answered 200 is delivered again with the same ids, as Shopify retries.
//
// Locally, inline hook processing (waitUntil right after the 200) usually finishes in the
// milliseconds before the signal lands, so the default run mostly tests the recovery of lost
// queue messages. CRASH_KILL_AFTER=1 (with CRASH_CUSTOMERS=50…200) kills while the burst is
// being stored: rows left `processing` whose redelivery is answered "200 duplicate" are what the
// hook lease and the tick's re-enqueue must recover.
//
// Why the 1-minute delay: a message killed in the middle of its carrier call stays `sending` and
// is never resent blindly (PRODUCT.md rule 9: it waits for the carrier's callback, then becomes
// failed / unknown_outcome), so "exactly once" can only be promised for work the kill caught
// before the carrier call. The delay keeps every apology `scheduled` at the kill, so what is
// measured is the recovery of answered hooks and lost queue messages.
// 4. `wrangler dev` again on the same state; the scheduled handler is triggered every few seconds
//    (as `npm start` does once a minute) until every customer got one apology and a grace period
//    passed, or the recovery timeout.
// 5. Counts per customer phone at the double, and Herald's own view (GET /v1/messages): PASS when
//    every customer has exactly one apology, else FAIL (exit 1). Writes the "crash" section of
//    bench/RESULTS.md. Loopback only; every loop is bounded in count and time.
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  api,
  devVars,
  phoneFor,
  ROOT,
  sleep,
  startTwilioDouble,
  startWrangler,
  writeSection,
} from "../fanout/harness.mjs";

const N = Math.min(200, Number(process.env.CRASH_CUSTOMERS ?? 50));
const KILL_AFTER = Math.min(N, Number(process.env.CRASH_KILL_AFTER ?? N));
const RECOVERY_MS = Number(process.env.CRASH_RECOVERY_SECONDS ?? 300) * 1000;
/** After the last customer's first apology: time for a duplicate to show up. */
const GRACE_MS = 20_000;
const TICK_EVERY_MS = 5_000;
const NAME = "crash";
const SECRET = "shpss_crash_bench_0123456789abcdef0123";
const HOOKS_SQL =
  "SELECT status, count(*) AS n FROM hook_deliveries WHERE topic = 'fulfillment_events/create' GROUP BY status";
const TICK = `/cdn-cgi/local/scheduled?cron=${encodeURIComponent("* * * * *")}`;

/**
 * One query on the local D1 of a stopped (or killed) instance: what the crash left behind.
 * Returns the rows, or null when wrangler could not answer (the run goes on without the figure).
 */
function d1Rows(w, sql) {
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
      ...["d1", "execute", "DB", "--local", "--json", "--persist-to", w.persist, "--config", w.config],
      ...["--command", sql],
    ],
    {
      cwd: dirname(w.config),
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  try {
    return JSON.parse(r.stdout)[0].results;
  } catch {
    return null;
  }
}

const fixture = (f) => JSON.parse(readFileSync(join(ROOT, "test/fixtures/shopify", f), "utf8"));
const ORDER = fixture("orders-create.json");
const DELAYED = fixture("fulfillment-events-create-delayed.json");

const orderId = (i) => 7_000_000_000_000 + i;
const phoneOf = (i) => phoneFor(900_000 + i);

function orderFor(i) {
  const phone = phoneOf(i);
  return {
    ...ORDER,
    id: orderId(i),
    admin_graphql_api_id: `gid://shopify/Order/${orderId(i)}`,
    name: `#C${1000 + i}`,
    order_number: 1000 + i,
    phone,
    sms_marketing_phone: phone,
    email: `customer${i}@example.com`,
    customer: { ...ORDER.customer, id: 8_000_000_000_000 + i, first_name: `Customer${i}`, phone },
    shipping_address: { ...(ORDER.shipping_address ?? ORDER.billing_address), phone },
    billing_address: { ...ORDER.billing_address, phone },
  };
}

/** One Shopify delivery id per (topic, customer): a redelivery after the crash reuses it. */
const deliveryKey = (topic, i) => `${topic === "orders/create" ? "1" : "2"}${String(i).padStart(11, "0")}`;

function delayedFor(i) {
  return {
    ...DELAYED,
    id: 9_000_000_000_000 + i,
    order_id: orderId(i),
    admin_graphql_api_id: `gid://shopify/FulfillmentEvent/${9_000_000_000_000 + i}`,
    // Just happened: the program's delay counts from here (an old event would be due at once).
    happened_at: new Date().toISOString(),
  };
}

/** One signed Shopify delivery, as Shopify sends it; the HTTP status, or null when the connection died. */
async function postShopify(base, integrationId, topic, i, payload) {
  const body = JSON.stringify(payload);
  const key = deliveryKey(topic, i);
  const res = await fetch(`${base}/hooks/${integrationId}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-shopify-topic": topic,
      "x-shopify-shop-domain": "crash-shop.myshopify.com",
      "x-shopify-api-version": "2026-10",
      "x-shopify-hmac-sha256": createHmac("sha256", SECRET).update(body).digest("base64"),
      "x-shopify-webhook-id": `c7a5e1d0-0000-4000-8000-${key}`,
      "x-shopify-event-id": `e7a5e1d0-0000-4000-8000-${key}`,
      "x-shopify-triggered-at": new Date().toISOString(),
    },
    body,
  }).catch(() => null);
  if (!res) return null;
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}

/** A one-hour quiet window at least 9 hours from every US zone's current hour. */
function quietHoursAway() {
  const h = (new Date().getUTCHours() + 12) % 24;
  const hh = (x) => `${String(x % 24).padStart(2, "0")}:00`;
  return { start: hh(h), end: hh(h + 1) };
}

/** Every message of the program, by recipient, through the public API (bounded pages). */
async function messagesByPhone(base, key, programId) {
  const byPhone = new Map();
  let cursor = null;
  for (let page = 0; page < 50; page++) {
    const q = `/v1/messages?program_id=${programId}&limit=200${cursor ? `&cursor=${cursor}` : ""}`;
    const res = await api(base, "GET", q, { key });
    for (const m of res.data) byPhone.set(m.to, [...(byPhone.get(m.to) ?? []), m.status]);
    cursor = res.next_cursor;
    if (!cursor) break;
  }
  return byPhone;
}

const histogram = (counts) => {
  const h = new Map();
  for (const c of counts) h.set(c, (h.get(c) ?? 0) + 1);
  return [...h.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([times, customers]) => `${customers} × ${times}`)
    .join(", ");
};

async function main() {
  const admin = devVars();
  const phones = Array.from({ length: N }, (_, i) => phoneOf(i));
  const received = new Map(phones.map((p) => [p, 0]));
  let strays = 0;
  const double = await startTwilioDouble({
    onMessage: (form) => {
      const to = form.get("To");
      if (received.has(to)) received.set(to, received.get(to) + 1);
      else strays += 1;
    },
  });
  const counts = () => phones.map((p) => received.get(p));

  let w = await startWrangler({ name: NAME, migrate: true });
  let key;
  let programId;
  const t0 = Date.now();
  try {
    ({ api_key: key } = await api(w.base, "POST", "/v1/tenants", {
      key: admin,
      body: { name: "Crash bench", brand_name: "Northwind" },
    }));
    await api(w.base, "PATCH", "/v1/tenant", { key, body: { quiet_hours: quietHoursAway() } });
    await api(w.base, "POST", "/v1/carriers", {
      key,
      body: {
        provider: "twilio",
        credentials: { account_sid: `AC${"c".repeat(32)}`, auth_token: "0123456789abcdef0123456789abcdef" },
        from: ["+12125550100"],
        base_url: double.url,
        mps: 100,
      },
    });
    const integration = await api(w.base, "POST", "/v1/integrations", {
      key,
      body: { type: "shopify", shop_domain: "crash-shop.myshopify.com", webhook_secret: SECRET },
    });
    ({ id: programId } = await api(w.base, "POST", "/v1/programs", {
      key,
      body: {
        name: "Delivery delays",
        kind: "delivery_delay",
        trigger: { type: "event", event: "order.delayed", delay_minutes: 1 },
      },
    }));

    // Orders first, then wait until every customer is a contact (the delayed hooks need the order).
    for (let i = 0; i < N; i++) {
      const status = await postShopify(w.base, integration.id, "orders/create", i, orderFor(i));
      if (status !== 200) throw new Error(`orders/create ${i} → ${status}`);
    }
    const until = Date.now() + 120_000;
    for (;;) {
      const { data } = await api(w.base, "GET", "/v1/contacts?limit=200", { key });
      if (data.length >= N) break;
      if (Date.now() > until) throw new Error(`only ${data.length}/${N} contacts after 120 s`);
      await sleep(500);
    }

    // The burst, all in flight at once; SIGKILL the moment the KILL_AFTER-th 200 is in.
    const topic = "fulfillment_events/create";
    // Built once: a redelivery after the crash is byte-for-byte the same body, as Shopify's retries are.
    const delayed = phones.map((_, i) => delayedFor(i));
    const statuses = new Array(N).fill(null);
    let ok = 0;
    const killed = w;
    await Promise.all(
      phones.map(async (_, i) => {
        statuses[i] = await postShopify(w.base, integration.id, topic, i, delayed[i]);
        if (statuses[i] === 200 && ++ok === KILL_AFTER) killed.kill();
      }),
    );
    killed.kill();
    const answered = statuses.filter((s) => s === 200).length;
    const atKill = counts().filter((c) => c > 0).length;
    console.log(
      `burst: ${answered}/${N} answered 200, SIGKILL to process group ${w.pid} after the ${KILL_AFTER === N ? "last" : `${KILL_AFTER}th`} 200`,
    );
    if (answered < KILL_AFTER) throw new Error(`burst: only ${answered}/${N} hooks answered 200`);
    for (let i = 0; i < 50 && !w.exited(); i++) await sleep(100);
    // What the kill left in D1: hook deliveries not processed yet, apologies not handed to the carrier.
    const hooks = d1Rows(w, HOOKS_SQL);
    const msgs = d1Rows(w, "SELECT status, count(*) AS n FROM messages GROUP BY status");
    const show = (rows) => (rows ? rows.map((r) => `${r.n} ${r.status}`).join(", ") || "none" : "unknown");
    const atKillLine = `at the kill: delayed hooks ${show(hooks)}; messages ${show(msgs)}; ${atKill} customers already apologised at the double`;
    console.log(atKillLine);

    // Restart on the same state; tick until everyone has one apology (plus a grace), or time out.
    w = await startWrangler({ name: NAME, keepState: true });
    const restartedAt = Date.now();
    // Shopify retries every delivery it did not see answered 200, with the same ids.
    const unanswered = phones.map((_, i) => i).filter((i) => statuses[i] !== 200);
    for (const i of unanswered) {
      const status = await postShopify(w.base, integration.id, topic, i, delayed[i]);
      if (status !== 200) throw new Error(`redelivery of hook ${i} → ${status}`);
    }
    if (unanswered.length > 0)
      console.log(`after the restart: ${unanswered.length} unanswered hooks delivered again`);
    let allSince = null;
    let ticks = 0;
    while (Date.now() - restartedAt < RECOVERY_MS) {
      const res = await fetch(w.base + TICK).catch(() => null);
      await res?.arrayBuffer();
      ticks += 1;
      const done = counts().every((c) => c >= 1);
      if (done && allSince === null) allSince = Date.now();
      if (allSince !== null && Date.now() - allSince >= GRACE_MS) break;
      await sleep(TICK_EVERY_MS);
    }
    const recoveredIn = ((allSince ?? Date.now()) - restartedAt) / 1000;

    const c = counts();
    const exactlyOnce = c.filter((x) => x === 1).length;
    const byPhone = await messagesByPhone(w.base, key, programId);
    const apiCounts = phones.map((p) => (byPhone.get(p) ?? []).length);
    const apiStatuses = new Map();
    for (const list of byPhone.values())
      for (const s of list) apiStatuses.set(s, (apiStatuses.get(s) ?? 0) + 1);
    const apiOk = phones.every((p) => {
      const list = byPhone.get(p) ?? [];
      return list.length === 1 && ["sending", "sent", "delivered"].includes(list[0]);
    });
    const pass = exactlyOnce === N && strays === 0 && apiOk;
    const carrierLine = `carrier double: ${histogram(c)} (customers × apologies), ${strays} to unknown phones`;
    const apiLine = `API: ${histogram(apiCounts)} (customers × messages); statuses ${JSON.stringify(Object.fromEntries(apiStatuses))}`;
    const verdict = `${pass ? "PASS" : "FAIL"}: ${exactlyOnce}/${N} customers apologised exactly once after kill -9 and restart (${ticks} ticks, ${pass ? `recovered ${recoveredIn.toFixed(0)} s after restart` : `gave up ${((Date.now() - restartedAt) / 1000).toFixed(0)} s after restart`})`;
    // Stopped, the local D1 tells what recovery left undone (a hook row still `processing`…).
    await w.stop();
    const afterLine = `after recovery: delayed hooks ${show(d1Rows(w, HOOKS_SQL))}; customers without an apology: ${
      phones
        .filter((p) => received.get(p) === 0)
        .slice(0, 10)
        .join(" ") || "none"
    }`;
    console.log(carrierLine);
    console.log(apiLine);
    console.log(afterLine);
    console.log(verdict);
    await writeSection(
      "crash",
      [
        `Run ${new Date().toISOString()} · \`node bench/crash/run.mjs\` · ${N} customers · local \`wrangler dev\`, SIGKILL to its process group right after the ${KILL_AFTER === N ? "last" : `${KILL_AFTER}th`} of ${N} \`fulfillment_events/create\` hooks was answered 200 (delivery_delay program, 1-minute delay), then a restart on the same \`--persist-to\` state with a scheduler tick every ${TICK_EVERY_MS / 1000} s${KILL_AFTER === N ? "" : "; unanswered hooks delivered again, as Shopify retries"}.`,
        "",
        `- ${atKillLine}`,
        `- ${carrierLine}`,
        `- ${apiLine}`,
        `- ${afterLine}`,
        `- **${verdict}**`,
        "",
        `Total ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
      ].join("\n"),
    );
    process.exitCode = pass ? 0 : 1;
  } finally {
    await w.stop();
    await double.close();
  }
}

main().catch((err) => {
  console.error(`FAIL: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
