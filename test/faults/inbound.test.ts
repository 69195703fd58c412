/**
 * Fault sweep of the inbound path (issue 9, defect 3 and 11): for every call the inbound callback
 * makes to D1 or a queue, fail that call once — before it takes effect, or after (the answer lost)
 * — let the carrier retry the same request (same carrier message id) until it gets a 2xx, drive the
 * queued work and the next tick, and compare the end state with the fault-free one: the phone
 * unsubscribed, one consent record, pending messages canceled, the reply given once, each webhook
 * written and delivered once.
 */
import { env } from "cloudflare:workers";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { b64, twilioSign } from "../callbacks/helpers";
import { BASE } from "../helpers/api";
import { deliverWith, type FaultyEnv, faultyEnv, fetchWith, tickWith } from "../helpers/faults";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { vonageSig } from "../inbound/helpers";

const PHONE = "+12125550142";
const OUR_NUMBER = "+12125550100";
const TWILIO_SID = "AC0123456789abcdef0123456789abcdef";
const TWILIO_TOKEN = "5eed5eed5eed5eed5eed5eed5eed5eed";
const RECEIVER = "https://receiver.example.com/herald";
const STOP_TEXT = "Acme: you're unsubscribed and will get no more texts. Reply START to resubscribe.";
/** A carrier gives up after this many attempts; every run here must succeed well before. */
const MAX_ATTEMPTS = 5;

afterEach(() => vi.restoreAllMocks());

interface Outside {
  carrierSends: URLSearchParams[] | unknown[];
  webhooks: { type: string }[];
}

/** Twilio's, Telnyx's and Vonage's send APIs and the tenant's webhook receiver, at the HTTP boundary. */
function fakeOutside(): Outside {
  const outside: Outside = { carrierSends: [], webhooks: [] };
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    const text = await req.text();
    if (req.url === RECEIVER) {
      outside.webhooks.push(JSON.parse(text) as { type: string });
      return new Response("ok");
    }
    if (new URL(req.url).pathname.endsWith("/Messages.json")) {
      const form = new URLSearchParams(text);
      outside.carrierSends.push(form);
      return Response.json(
        { sid: `SM${crypto.randomUUID().replaceAll("-", "")}`, status: "queued", to: form.get("To") },
        { status: 201 },
      );
    }
    if (new URL(req.url).pathname.endsWith("/v2/messages")) {
      outside.carrierSends.push(JSON.parse(text));
      return Response.json({ data: { id: crypto.randomUUID(), to: [{ status: "queued" }] } });
    }
    if (new URL(req.url).pathname === "/sms/json") {
      const form = new URLSearchParams(text);
      outside.carrierSends.push(form);
      return Response.json({
        "message-count": "1",
        messages: [{ to: form.get("to"), "message-id": crypto.randomUUID(), status: "0" }],
      });
    }
    return new Response("unexpected", { status: 599 });
  });
  return outside;
}

type Provider = "twilio" | "telnyx" | "vonage";

interface Scenario {
  name: string;
  provider: Provider;
  text: string;
  /** The consent record expected, or null when the text changes no consent. */
  source: "sms" | "sms_phrase" | null;
}

const SCENARIOS: Scenario[] = [
  { name: "Twilio STOP", provider: "twilio", text: "Stop", source: "sms" },
  { name: "Twilio sentence", provider: "twilio", text: "Please stop texting me 🙏", source: "sms_phrase" },
  { name: "Twilio ordinary reply", provider: "twilio", text: "when will my order arrive?", source: null },
  { name: "Telnyx STOP", provider: "telnyx", text: "STOP", source: "sms" },
  { name: "Telnyx sentence", provider: "telnyx", text: "no más mensajes, gracias", source: "sms_phrase" },
  { name: "Vonage sentence", provider: "vonage", text: "remove me from your list", source: "sms_phrase" },
];

interface World {
  t: TestTenant;
  contactId: string;
  pending: string[];
  /** A fresh signed carrier request for the same inbound message (same carrier message id). */
  request: () => Promise<Request>;
}

let seq = 0;

async function world(s: Scenario): Promise<World> {
  seq += 1;
  const t = await newTenant({ brand_name: "Acme" });
  await t.api.patch("/v1/tenant", { stop_text: STOP_TEXT });
  const endpoint = await t.api.post("/v1/webhook-endpoints", {
    url: RECEIVER,
    events: ["contact.unsubscribed", "message.received"],
  });
  expect(endpoint.status, endpoint.text).toBe(201);
  const contact = await t.api.post<{ id: string }>("/v1/contacts", { phone: PHONE, first_name: "Ada" });
  const pending: string[] = [];
  for (const n of [1, 2]) {
    const m = await t.api.post<{ id: string; status: string }>("/v1/messages", {
      to: PHONE,
      body: `Your appointment is tomorrow (${n})`,
      send_at: new Date(Date.now() + 6 * 3_600_000).toISOString(),
    });
    expect(m.body.status).toBe("scheduled");
    pending.push(m.body.id);
  }
  const request =
    s.provider === "twilio"
      ? await twilioRequest(t, s.text)
      : s.provider === "telnyx"
        ? await telnyxRequest(t, s.text)
        : await vonageRequest(t, s.text);
  return { t, contactId: contact.body.id, pending, request };
}

async function twilioRequest(t: TestTenant, text: string): Promise<() => Promise<Request>> {
  const carrier = await t.api.post<{ id: string }>("/v1/carriers", {
    provider: "twilio",
    credentials: { account_sid: TWILIO_SID, auth_token: TWILIO_TOKEN },
    from: [OUR_NUMBER],
  });
  expect(carrier.status, carrier.text).toBe(201);
  const sid = `SM${String(seq).padStart(32, "0")}`;
  const params = {
    MessageSid: sid,
    SmsSid: sid,
    AccountSid: TWILIO_SID,
    From: PHONE,
    To: OUR_NUMBER,
    Body: text,
  };
  const path = `/callbacks/twilio/${carrier.body.id}/inbound`;
  const signature = await twilioSign(TWILIO_TOKEN, BASE + path, params);
  return async () =>
    new Request(BASE + path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
      body: new URLSearchParams(params).toString(),
    });
}

async function telnyxRequest(t: TestTenant, text: string): Promise<() => Promise<Request>> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const publicKey = b64((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  const carrier = await t.api.post<{ id: string }>("/v1/carriers", {
    provider: "telnyx",
    credentials: { api_key: "KEY0123456789ABCDEF", public_key: publicKey },
    from: [OUR_NUMBER],
  });
  expect(carrier.status, carrier.text).toBe(201);
  const id = crypto.randomUUID();
  const body = JSON.stringify({
    data: {
      event_type: "message.received",
      id: crypto.randomUUID(),
      payload: { id, from: { phone_number: PHONE }, to: [{ phone_number: OUR_NUMBER }], text },
    },
    meta: { attempt: 1 },
  });
  return async () => {
    // Telnyx signs each delivery afresh (its timestamp changes); the message id stays.
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = b64(
      await crypto.subtle.sign("Ed25519", pair.privateKey, new TextEncoder().encode(`${ts}|${body}`)),
    );
    return new Request(`${BASE}/callbacks/telnyx/${carrier.body.id}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "telnyx-timestamp": ts,
        "telnyx-signature-ed25519": sig,
      },
      body,
    });
  };
}

const VONAGE_SIGNATURE_SECRET = "vonage-signature-secret-0123456789";

async function vonageRequest(t: TestTenant, text: string): Promise<() => Promise<Request>> {
  const carrier = await t.api.post<{ id: string }>("/v1/carriers", {
    provider: "vonage",
    credentials: {
      api_key: "a1b2c3d4",
      api_secret: "S3cretS3cret1234",
      signature_secret: VONAGE_SIGNATURE_SECRET,
    },
    from: [OUR_NUMBER],
    base_url: "https://vonage-double.example.com",
  });
  expect(carrier.status, carrier.text).toBe(201);
  const messageId = `0A${String(seq).padStart(14, "0")}`;
  return async () => {
    // Each delivery is signed afresh (new timestamp and nonce); the message id stays.
    const params: Record<string, string> = {
      msisdn: PHONE.slice(1),
      to: OUR_NUMBER.slice(1),
      messageId,
      text,
      type: "text",
      timestamp: String(Math.floor(Date.now() / 1000)),
      nonce: crypto.randomUUID(),
    };
    params.sig = await vonageSig(VONAGE_SIGNATURE_SECRET, params);
    return new Request(`${BASE}/callbacks/vonage/${carrier.body.id}/inbound`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(params).toString(),
    });
  };
}

/** Delivers what the run queued through the real queue handlers, redelivering what they retried. */
async function drain(f: FaultyEnv): Promise<void> {
  for (let round = 1; round <= 10; round++) {
    const sent = f.takeCaptured();
    if (sent.length === 0) return;
    const byQueue = new Map<string, unknown[]>();
    for (const m of sent) byQueue.set(m.queue, [...(byQueue.get(m.queue) ?? []), m.body]);
    for (const [queue, bodies] of byQueue) {
      const { result, threw } = await deliverWith(f.env, queue, bodies, round);
      const again =
        threw || result.retryBatch.retry
          ? bodies
          : result.retryMessages.map((r) => bodies[Number(/^msg-(\d+)-/.exec(r.msgId)?.[1])]);
      for (const body of again) f.captured.push({ queue, body });
    }
  }
  throw new Error("queued work did not settle in 10 rounds");
}

interface Run {
  /** D1 and queue calls the carrier's first attempt made. */
  calls: number;
  fired: boolean;
  statuses: number[];
  /** TwiML answers that carried a reply inline (there must be none: replies go through the outbox). */
  inlineReplies: number;
  /** The failed call was the webhook doorbell, and it never reached the queue. */
  lostWebhookDoorbell: boolean;
}

async function run(w: World, fault: { nth?: number; mode?: "before" | "after" }): Promise<Run> {
  const f = faultyEnv(env, { ...fault, capture: true });
  const statuses: number[] = [];
  let inlineReplies = 0;
  let calls = 0;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const res = await fetchWith(f.env, await w.request());
    if (attempt === 1) calls = f.calls.total;
    statuses.push(res.status);
    const text = await res.text();
    if (res.ok && text.includes("<Message>")) inlineReplies += 1;
    if (res.ok) break;
  }
  // "after" means the queue took the jobs and only the answer was lost.
  const lostWebhookDoorbell = f.fired?.target === "WORK_QUEUE" && fault.mode !== "after";
  await drain(f);
  // The next tick, once every lease the run left has run out (sending rule 9, webhook leases).
  vi.useFakeTimers({ toFake: ["Date"] });
  try {
    vi.setSystemTime(Date.now() + 5 * 60_000);
    await tickWith(f.env);
    await drain(f);
  } finally {
    vi.useRealTimers();
  }
  return { calls, fired: f.fired !== null, statuses, inlineReplies, lostWebhookDoorbell };
}

const rows = <T>(sql: string, ...params: unknown[]) =>
  env.DB.prepare(sql)
    .bind(...params)
    .all<T>()
    .then((r) => r.results);

async function expectFinalState(s: Scenario, w: World, r: Run, outside: Outside, label: string) {
  const tenantId = w.t.id;
  expect(r.statuses.at(-1), `${label}: the carrier got a 2xx within ${MAX_ATTEMPTS} attempts`).toBeLessThan(
    300,
  );
  const revokes = s.source !== null;

  const [contact] = await rows<{ subscribed: number }>(
    "SELECT subscribed FROM contacts WHERE id = ?",
    w.contactId,
  );
  expect(contact?.subscribed, `${label}: subscribed`).toBe(revokes ? 0 : 1);
  const consent = await rows<{ change: string; source: string; text: string }>(
    "SELECT change, source, text FROM consent_records WHERE tenant_id = ? AND source <> 'api'",
    tenantId,
  );
  expect(consent, `${label}: consent records`).toEqual(
    revokes ? [{ change: "unsubscribed", source: s.source, text: s.text }] : [],
  );
  const suppressions = await rows("SELECT 1 FROM suppressions WHERE tenant_id = ?", tenantId);
  expect(suppressions.length, `${label}: suppression`).toBe(revokes ? 1 : 0);
  const inbound = await rows("SELECT 1 FROM inbound_messages WHERE tenant_id = ?", tenantId);
  expect(inbound.length, `${label}: inbound rows`).toBe(1);

  for (const id of w.pending) {
    const [m] = await rows<{ status: string }>("SELECT status FROM messages WHERE id = ?", id);
    expect(m?.status, `${label}: pending message`).toBe(revokes ? "canceled" : "scheduled");
    const events = await rows(
      "SELECT 1 FROM message_events WHERE message_id = ? AND status = 'canceled'",
      id,
    );
    expect(events.length, `${label}: cancel events`).toBe(revokes ? 1 : 0);
  }

  const replies = await rows<{ status: string; body: string }>(
    "SELECT status, body FROM messages WHERE tenant_id = ? AND keyword_reply = 1",
    tenantId,
  );
  expect(replies, `${label}: reply rows`).toEqual(revokes ? [{ status: "sent", body: STOP_TEXT }] : []);
  const expectedReplies = revokes ? 1 : 0;
  expect(r.inlineReplies, `${label}: TwiML replies`).toBe(0);
  expect(outside.carrierSends.length, `${label}: carrier sends`).toBe(expectedReplies);

  const type = revokes ? "contact.unsubscribed" : "message.received";
  const deliveries = await rows<{ event_type: string; status: string; attempts: number }>(
    "SELECT event_type, status, attempts FROM webhook_deliveries WHERE tenant_id = ?",
    tenantId,
  );
  expect(
    deliveries.map((d) => d.event_type),
    `${label}: webhook rows`,
  ).toEqual([type]);
  // A lost doorbell is rung again by the carrier's retry of the same message (the attempt answered
  // 5xx), or else by the tick's webhook lease sweep.
  expect(deliveries[0]?.status, `${label}: webhook delivered`).toBe("delivered");
  expect(
    outside.webhooks.map((h) => h.type),
    `${label}: webhooks delivered`,
  ).toEqual([type]);
}

const injected: Record<string, number> = {};

afterAll(() => {
  const total = Object.values(injected).reduce((a, b) => a + b, 0);
  console.log(`inbound fault sweep: ${total} (path, step, mode) faults injected`, injected);
});

describe("inbound fault sweep", () => {
  for (const s of SCENARIOS) {
    it(`${s.name}: every D1/queue call failed once, before or after, ends as without faults`, async () => {
      let outside = fakeOutside();
      let w = await world(s);
      const baseline = await run(w, {});
      expect(baseline.statuses).toEqual([s.provider === "twilio" ? 200 : 204]);
      await expectFinalState(s, w, baseline, outside, "no fault");
      expect(baseline.calls).toBeGreaterThan(3);

      let fired = 0;
      let lostDoorbells = 0;
      for (let k = 1; k <= baseline.calls; k++) {
        for (const mode of ["before", "after"] as const) {
          vi.restoreAllMocks();
          outside = fakeOutside();
          w = await world(s);
          const r = await run(w, { nth: k, mode });
          expect(r.fired, `call ${k} (${mode}) fired`).toBe(true);
          fired += 1;
          if (r.lostWebhookDoorbell) lostDoorbells += 1;
          await expectFinalState(s, w, r, outside, `call ${k} failed ${mode}`);
        }
      }
      expect(fired).toBe(2 * baseline.calls);
      // The sweep did reach the webhook doorbell (recovered by the carrier's retry or by the tick).
      expect(lostDoorbells).toBe(1);
      injected[s.name] = fired;
    }, 300_000);
  }
});
