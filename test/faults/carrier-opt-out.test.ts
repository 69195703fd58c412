/**
 * Fault sweep of a carrier-reported opt-out arriving as a status callback (Twilio `undelivered`
 * with ErrorCode 21610): the phone is unsubscribed and `contact.unsubscribed` reaches the tenant's
 * receiver exactly once, whichever binding call fails (before or after it takes effect) — Twilio
 * resends the callback on a 5xx, the work jobs are delivered through the real work handler, and the
 * next tick recovers a lost doorbell. Before issue 9's fix the webhook was emitted after the
 * opt-out: a fault in between left the person unsubscribed and the retry, seeing nothing change,
 * never sent it.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { twilioSign } from "../callbacks/helpers";
import { insertCarrier, insertMessage, tenant } from "../dispatch/fixtures";
import { BASE } from "../helpers/api";
import { deliverWith, type FaultyEnv, faultyEnv, fetchWith, tickWith } from "../helpers/faults";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const RECEIVER_HOST = "receiver.example.com";
const MIN = 60_000;
let runs = 0;

/** The receiver at the HTTP boundary: every webhook it got, as `type|phone-or-message-id`. */
function receiver(): string[] {
  const got: string[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init as RequestInit);
    if (new URL(req.url).host !== RECEIVER_HOST) throw new Error(`unexpected fetch ${req.url}`);
    const p = JSON.parse(await req.text()) as { type: string; data: Record<string, unknown> };
    got.push(`${p.type}|${String(p.type.startsWith("contact.") ? p.data.phone : p.data.id)}`);
    return new Response("ok");
  });
  return got;
}

interface Setup {
  tenantId: string;
  carrierId: string;
  messageId: string;
  phone: string;
  sid: string;
}

async function setup(): Promise<Setup> {
  const t = await tenant();
  const res = await t.api.post("/v1/webhook-endpoints", {
    url: `https://${RECEIVER_HOST}/herald`,
    events: ["contact.unsubscribed", "message.undelivered"],
  });
  expect(res.status, res.text).toBe(201);
  const carrierId = await insertCarrier(t.id);
  const phone = `+1415557${String(1000 + runs++).padStart(4, "0")}`;
  const contact = await t.api.post<{ id: string }>("/v1/contacts", { phone, first_name: "Ada" });
  expect(contact.status, contact.text).toBeLessThan(300);
  const messageId = await insertMessage(t.id, {
    to: phone,
    contactId: contact.body.id,
    status: "sending",
    attempts: 1,
    carrierId,
  });
  const sid = `SM${String(runs).padStart(32, "0")}`;
  await env.DB.prepare("UPDATE messages SET carrier_message_id = ? WHERE id = ?").bind(sid, messageId).run();
  return { tenantId: t.id, carrierId, messageId, phone, sid };
}

async function optOutCallback(s: Setup): Promise<Request> {
  const path = `/callbacks/twilio/${s.carrierId}/status?message_id=${s.messageId}`;
  const params = {
    MessageSid: s.sid,
    MessageStatus: "undelivered",
    ErrorCode: "21610",
    ErrorMessage: "Attempt to send to unsubscribed recipient",
    AccountSid: "AC0123456789abcdef0123456789abcdef",
  };
  return new Request(BASE + path, {
    method: "POST",
    body: new URLSearchParams(params).toString(),
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": await twilioSign("secret-token", BASE + path, params),
    },
  });
}

/** Delivers the captured work jobs through the real work handler (at `at`: a tick's instant). */
async function drainWork(f: FaultyEnv, at?: number): Promise<void> {
  if (at !== undefined) vi.useFakeTimers({ toFake: ["Date"], now: at });
  try {
    for (let i = 0; i < 10; i++) {
      const jobs = f.takeCaptured("herald-work").map((c) => c.body);
      if (jobs.length === 0) break;
      const { result, threw } = await deliverWith(f.env, "herald-work", jobs);
      if (threw !== null || result.retryBatch.retry || result.retryMessages.length > 0)
        f.captured.push(...jobs.map((body) => ({ queue: "herald-work", body })));
    }
  } finally {
    if (at !== undefined) vi.useRealTimers();
  }
}

/** One callback with `fault`, resent by Twilio on a 5xx, then work and a tick; what the receiver got. */
async function run(fault?: { nth: number; mode: "before" | "after" }) {
  const got = receiver();
  const s = await setup();
  const f = faultyEnv(env, { ...fault, capture: true });
  let calls = -1;
  for (let attempt = 0; attempt < 4; attempt++) {
    const res = await fetchWith(f.env, await optOutCallback(s));
    if (calls < 0) calls = f.calls.total;
    if (res.status < 500) break;
  }
  await drainWork(f);
  const at = Date.now() + 10 * MIN;
  await tickWith(f.env, at);
  await drainWork(f, at);
  const contact = await env.DB.prepare("SELECT subscribed FROM contacts WHERE tenant_id = ? AND phone = ?")
    .bind(s.tenantId, s.phone)
    .first<{ subscribed: number }>();
  const pending = await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE tenant_id = ? AND status <> 'delivered'",
  )
    .bind(s.tenantId)
    .first<{ n: number }>();
  const mine = (type: string, key: string) => got.filter((g) => g === `${type}|${key}`).length;
  return {
    calls,
    fired: f.fired,
    end: {
      subscribed: contact?.subscribed,
      unsubscribedWebhooks: mine("contact.unsubscribed", s.phone),
      undeliveredWebhooks: mine("message.undelivered", s.messageId),
      pending: pending?.n,
    },
  };
}

describe("fault sweep: a carrier opt-out callback (Twilio 21610)", () => {
  it("a fault at every binding call still unsubscribes once and delivers contact.unsubscribed exactly once", async () => {
    const clean = await run();
    const expected = { subscribed: 0, unsubscribedWebhooks: 1, undeliveredWebhooks: 1, pending: 0 };
    expect(clean.end).toEqual(expected);
    expect(clean.calls).toBeGreaterThan(3);
    const mismatches: string[] = [];
    let injected = 0;
    for (let k = 1; k <= clean.calls; k++) {
      for (const mode of ["before", "after"] as const) {
        vi.restoreAllMocks();
        const r = await run({ nth: k, mode });
        expect(r.fired, `call ${k} (${mode}) was made`).not.toBeNull();
        injected += 1;
        if (JSON.stringify(r.end) !== JSON.stringify(expected))
          mismatches.push(`${r.fired?.target} call #${r.fired?.index} (${mode}): ${JSON.stringify(r.end)}`);
      }
    }
    console.log(
      JSON.stringify({
        path: "carrier opt-out callback",
        binding_calls: clean.calls,
        faults_injected: injected,
        mismatches: mismatches.length,
      }),
    );
    expect(mismatches).toEqual([]);
  }, 120_000);
});
