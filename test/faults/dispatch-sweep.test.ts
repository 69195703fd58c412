/**
 * Fault sweep of the dispatch path (issue 9). A batch of queued messages goes through the real
 * `herald-dispatch` handler over a Twilio-shaped carrier double (fetch mocked at the HTTP boundary)
 * and the sandbox. A fault-free run counts the binding calls of that delivery; then, for every
 * call k and both modes, fresh messages are dispatched with call k failing once, and the test does
 * what the platform does — redelivers retried messages (attempts + 1, to the dead-letter queue past
 * max_retries), delivers what the handler sent again, runs the next tick with time past the leases,
 * and lets the carrier's status callback arrive — and the final state must equal the fault-free one:
 * every message delivered, one carrier call each (never two), attempts as without the fault,
 * nothing failed or stuck. Every tenant has a webhook endpoint (message.sent, message.delivered,
 * message.failed, contact.unsubscribed): the work jobs the handler sends are delivered through the
 * real work handler to a receiver at the HTTP boundary, and each webhook arrives exactly once in
 * every run ("acknowledged means durable"). A third scenario is a send Twilio refuses with 21610
 * (the recipient opted out): the phone is unsubscribed and `contact.unsubscribed` arrives once.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { twilioSign } from "../callbacks/helpers";
import { events, fakeTwilio, insertCarrier, insertMessage, message, tenant } from "../dispatch/fixtures";
import { BASE } from "../helpers/api";
import { deliverWith, type FaultyEnv, faultyEnv, fetchWith, tickWith } from "../helpers/faults";
import type { TestTenant } from "../helpers/tenant";

afterEach(() => {
  vi.restoreAllMocks();
});

const MAX_RETRIES = 8; // wrangler.jsonc, herald-dispatch
const MIN = 60_000;

const RECEIVER_HOST = "receiver.example.com";
/** Bodies the carrier double refuses with Twilio 21610 (the recipient opted out). */
const OPTED_OUT = "opted-out";

interface Scenario {
  ids: string[];
  /** Tenants with a webhook endpoint, and the phone of each message (contact webhooks are keyed by phone). */
  phones: Map<string, string>;
  twilio: Map<string, string>; // message id → carrier id
  /** Buckets to top up when a delayed re-send is delivered (its delay elapsed: the tokens are there). */
  buckets: { name: string; rate: number }[];
}

type Build = () => Promise<Scenario>;

/** The tenant's webhook endpoint at the receiver, subscribed to what dispatch can fire. */
async function listen(t: TestTenant): Promise<void> {
  const res = await t.api.post("/v1/webhook-endpoints", {
    url: `https://${RECEIVER_HOST}/herald`,
    events: ["message.sent", "message.delivered", "message.failed", "contact.unsubscribed"],
  });
  expect(res.status, res.text).toBe(201);
}

/** The phone of each message (read back from its row). */
async function phonesOf(ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const id of ids) {
    const row = await env.DB.prepare(`SELECT "to" FROM messages WHERE id = ?`)
      .bind(id)
      .first<{ to: string }>();
    out.set(id, row?.to ?? "?");
  }
  return out;
}

/** Two messages over Twilio and two over the implicit sandbox (two tenants), one batch. */
const batchScenario: Build = async () => {
  const a = await tenant();
  const b = await tenant();
  await listen(a);
  await listen(b);
  const carrierId = await insertCarrier(a.id, { mps: 100 });
  const tw = [await insertMessage(a.id, { body: "order 1" }), await insertMessage(a.id, { body: "order 2" })];
  const sb = [await insertMessage(b.id, { body: "code 1" }), await insertMessage(b.id, { body: "code 2" })];
  const ids = [...tw, ...sb];
  return { ids, phones: await phonesOf(ids), twilio: new Map(tw.map((id) => [id, carrierId])), buckets: [] };
};

let optOutRuns = 0;

/** A message Twilio refuses with 21610 next to one it accepts: the first phone is opted out. */
const optOutScenario: Build = async () => {
  const a = await tenant();
  await listen(a);
  const carrierId = await insertCarrier(a.id, { mps: 100 });
  // One phone per run: the receiver keys contact webhooks by phone.
  const phone = `+1415556${String(1000 + optOutRuns++).padStart(4, "0")}`;
  const contact = await a.api.post<{ id: string }>("/v1/contacts", { phone, first_name: "Ada" });
  expect(contact.status, contact.text).toBeLessThan(300);
  const tw = [
    await insertMessage(a.id, { body: OPTED_OUT, to: phone, contactId: contact.body.id }),
    await insertMessage(a.id, { body: "order 3" }),
  ];
  return {
    ids: tw,
    phones: await phonesOf(tw),
    twilio: new Map(tw.map((id) => [id, carrierId])),
    buckets: [],
  };
};

/** Two messages over a Twilio pool of one segment per 5 s: the second waits for tokens (deferred). */
const deferScenario: Build = async () => {
  const a = await tenant();
  const carrierId = await insertCarrier(a.id, { mps: 0.2 });
  await listen(a);
  const tw = [await insertMessage(a.id, { body: "slow 1" }), await insertMessage(a.id, { body: "slow 2" })];
  return {
    ids: tw,
    phones: await phonesOf(tw),
    twilio: new Map(tw.map((id) => [id, carrierId])),
    buckets: [{ name: `carrier:${carrierId}`, rate: 0.2 }],
  };
};

/**
 * Carrier calls per message id (from the StatusCallback URL), the sid the double answered, and the
 * webhooks the tenant's receiver got: types per message id (contact events: per phone).
 */
function carrierDouble() {
  const perMessage = new Map<string, number>();
  const sids = new Map<string, string>();
  const webhooks = new Map<string, string[]>();
  const twilio = fakeTwilio((c) => {
    const id = new URL(c.form.get("StatusCallback") ?? "https://x/").searchParams.get("message_id") ?? "?";
    perMessage.set(id, (perMessage.get(id) ?? 0) + 1);
    if (c.form.get("Body")?.startsWith(OPTED_OUT))
      return { status: 400, body: { code: "21610", message: "Attempt to send to unsubscribed recipient" } };
    const sid = `SM${id
      .replace(/[^0-9a-f]/gi, "")
      .padEnd(32, "0")
      .slice(0, 32)}`;
    sids.set(id, sid);
    return { status: 201, body: { sid } };
  });
  const carrier = twilio.spy.getMockImplementation();
  twilio.spy.mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init as RequestInit);
    if (new URL(req.url).host !== RECEIVER_HOST) return (carrier as typeof fetch)(input, init);
    const payload = JSON.parse(await req.text()) as { type: string; data: Record<string, unknown> };
    const key = String(payload.type.startsWith("contact.") ? payload.data.phone : payload.data.id);
    webhooks.set(key, [...(webhooks.get(key) ?? []), payload.type]);
    return new Response("ok");
  });
  return { perMessage, sids, webhooks };
}

interface Final {
  status: string;
  status_reason: string | null;
  attempts: number;
  carrierCalls: number;
  events: string[];
  /** Webhooks the receiver got for it (and for its phone), sorted. */
  webhooks: string[];
  /** Its webhook deliveries not delivered at the end. */
  undelivered: number;
  subscribed: boolean | null;
}

/**
 * Runs the scenario with `fault` (none: a counting run) and behaves as the platform does until
 * nothing is left to deliver. Returns the binding calls of the first delivery and each message's end.
 */
async function run(
  build: Build,
  double: ReturnType<typeof carrierDouble>,
  fault?: { nth: number; mode: "before" | "after" },
): Promise<{ firstCalls: number; fired: FaultyEnv["fired"]; finals: Map<string, Final> }> {
  const s = await build();
  const f = faultyEnv(env, { ...fault, capture: true });
  const mine = new Set(s.ids);
  let pending: { body: { messageId: string }; attempts: number }[] = s.ids.map((messageId) => ({
    body: { messageId },
    attempts: 1,
  }));
  const dead: { messageId: string }[] = [];
  let firstCalls = -1;
  let ticks = 0;
  /**
   * Delivers the webhook jobs sent so far through the real work handler (at `at`, for the jobs of
   * a tick: a lease sweep makes a delivery due at the tick's instant), redelivering retried ones.
   */
  const drainWork = async (at?: number) => {
    if (at !== undefined) vi.useFakeTimers({ toFake: ["Date"], now: at });
    try {
      for (let i = 0; i < 10; i++) {
        const jobs = f.takeCaptured("herald-work").map((c) => c.body);
        if (jobs.length === 0) break;
        const { result, threw } = await deliverWith(f.env, "herald-work", jobs);
        const retried = threw !== null || result.retryBatch.retry || result.retryMessages.length > 0;
        if (retried) f.captured.push(...jobs.map((body) => ({ queue: "herald-work", body })));
      }
    } finally {
      if (at !== undefined) vi.useRealTimers();
    }
  };
  const resent = () =>
    f
      .takeCaptured("herald-dispatch")
      .map((c) => c.body as { messageId: string })
      .filter((b) => mine.has(b.messageId))
      .map((body) => ({ body, attempts: 1 }));
  for (let round = 0; round < 40; round++) {
    if (pending.length === 0 && dead.length === 0) {
      if (ticks >= 2) break;
      // The next cron tick, with time past every lease (and its 2-minute grace).
      ticks += 1;
      const at = Date.now() + 10 * MIN;
      await tickWith(f.env, at);
      await drainWork(at);
      pending = resent();
      continue;
    }
    const next: typeof pending = [];
    for (const attempts of [...new Set(pending.map((p) => p.attempts))]) {
      const group = pending.filter((p) => p.attempts === attempts);
      const { result, threw } = await deliverWith(
        f.env,
        "herald-dispatch",
        group.map((p) => p.body),
        attempts,
      );
      if (firstCalls < 0) firstCalls = f.calls.total;
      const index = (m: string | { msgId: string }) =>
        Number((typeof m === "string" ? m : m.msgId).split("-")[1]);
      const acked = new Set(result.explicitAcks.map(index));
      const retried = new Set(result.retryMessages.map(index));
      group.forEach((p, i) => {
        const again =
          retried.has(i) || ((threw !== null || result.retryBatch.retry) && !acked.has(i) && !result.ackAll);
        if (!again) return;
        if (attempts > MAX_RETRIES) dead.push(p.body);
        else next.push({ body: p.body, attempts: attempts + 1 });
      });
    }
    if (dead.length > 0) await deliverWith(f.env, "herald-dispatch-dlq", dead.splice(0));
    await drainWork();
    const again = resent();
    // A re-send waited out its delay: the tokens it waited for are there now.
    if (again.length > 0)
      for (const b of s.buckets) await env.RATE_LIMITER.getByName(b.name).refund(b.rate, 1, Date.now());
    pending = [...next, ...again];
  }
  // The carrier's status callbacks arrive (Twilio: delivered), as they would after any send.
  for (const [id, carrierId] of s.twilio) {
    const sid = double.sids.get(id);
    if (!sid) continue;
    const path = `/callbacks/twilio/${carrierId}/status?message_id=${id}`;
    const params = {
      MessageSid: sid,
      MessageStatus: "delivered",
      AccountSid: "AC0123456789abcdef0123456789abcdef",
    };
    const res = await fetchWith(
      f.env,
      new Request(BASE + path, {
        method: "POST",
        body: new URLSearchParams(params).toString(),
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-twilio-signature": await twilioSign("secret-token", `${BASE}${path}`, params),
        },
      }),
    );
    expect(res.status).toBeLessThan(300);
  }
  await drainWork();
  const finals = new Map<string, Final>();
  for (const id of s.ids) {
    const m = await message(id);
    finals.set(id, {
      status: m.status,
      status_reason: m.status_reason,
      attempts: m.attempts,
      carrierCalls: double.perMessage.get(id) ?? 0,
      events: await events(id),
      webhooks: [
        ...(double.webhooks.get(id) ?? []),
        ...(double.webhooks.get(s.phones.get(id) ?? "?") ?? []),
      ].sort(),
      undelivered: await undelivered(id, s.phones.get(id) ?? "?"),
      subscribed: await subscribed(s.phones.get(id) ?? "?"),
    });
  }
  return { firstCalls, fired: f.fired, finals };
}

/** Webhook deliveries about this message (or its phone) left undelivered. */
async function undelivered(id: string, phone: string): Promise<number> {
  const row = await env.DB.prepare(
    `SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'
       AND (dedupe_key LIKE '%:' || ? OR (event_type LIKE 'contact.%' AND json_extract(payload, '$.data.phone') = ?))`,
  )
    .bind(id, phone)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Whether the contact with this phone is subscribed (null: no contact). */
async function subscribed(phone: string): Promise<boolean | null> {
  const row = await env.DB.prepare("SELECT subscribed FROM contacts WHERE phone = ?")
    .bind(phone)
    .first<{ subscribed: number }>();
  return row ? row.subscribed === 1 : null;
}

/** The fault-free end, per message in scenario order (ids differ between runs). */
const shape = (finals: Map<string, Final>) => [...finals.values()];

describe("fault sweep: the dispatch path", () => {
  it.each([
    ["batch over Twilio and the sandbox", batchScenario],
    ["a message waiting for tokens (deferred)", deferScenario],
    ["a send Twilio refuses with 21610 (opted out) next to one it takes", optOutScenario],
  ])(
    "%s: a fault at every binding call, before or after it takes effect, ends exactly as without it",
    async (path, build) => {
      const double = carrierDouble();
      const clean = await run(build, double);
      const expected = shape(clean.finals);
      for (const f of expected) {
        expect(f.carrierCalls).toBeLessThanOrEqual(1);
        expect(f.undelivered).toBe(0);
        if (f.status === "failed") {
          // The opted-out phone: the send failed with 21610 and the contact is unsubscribed.
          expect(f.status_reason).toBe("21610");
          expect(f.subscribed).toBe(false);
          expect(f.webhooks).toEqual(["contact.unsubscribed", "message.failed"]);
        } else {
          expect(f.status).toBe("delivered");
          expect(f.webhooks, "each webhook exactly once").toEqual(["message.delivered", "message.sent"]);
        }
      }
      expect(clean.firstCalls).toBeGreaterThan(3);
      const mismatches: string[] = [];
      let injected = 0;
      for (let k = 1; k <= clean.firstCalls; k++) {
        for (const mode of ["before", "after"] as const) {
          const r = await run(build, double, { nth: k, mode });
          expect(r.fired, `call ${k} (${mode}) was made`).not.toBeNull();
          injected += 1;
          const got = shape(r.finals);
          if (JSON.stringify(got) !== JSON.stringify(expected))
            mismatches.push(
              `${r.fired?.target} call #${r.fired?.index} (global ${k}, ${mode}): ${JSON.stringify(got)}`,
            );
          for (const m of got) {
            expect(m.carrierCalls, "never two carrier calls for one message").toBeLessThanOrEqual(1);
            expect(m.status === "failed" && m.attempts === 0, "no failed without an attempt").toBe(false);
          }
        }
      }
      console.log(
        JSON.stringify({
          path,
          binding_calls: clean.firstCalls,
          faults_injected: injected,
          mismatches: mismatches.length,
        }),
      );
      expect(mismatches).toEqual([]);
    },
    180_000,
  );
});
