import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { phoneHash } from "../../src/lib/crypto";
import { newId } from "../../src/lib/ids";
import { iso } from "../../src/lib/time";
import {
  dispatch,
  events,
  fakeTwilio,
  insertCarrier,
  insertContact,
  insertMessage,
  message,
  nextPhone,
  TWILIO_SID,
  tenant,
} from "./fixtures";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("dispatch through the implicit sandbox", () => {
  it("walks queued → sending → sent → delivered with carrier_id null, and calls nobody", async () => {
    const t = await tenant();
    const { calls } = fakeTwilio();
    const id = await insertMessage(t.id);
    const result = await dispatch([id]);
    expect(result.explicitAcks).toEqual(result.deliveryIds);
    const m = await message(id);
    expect(m).toMatchObject({ status: "delivered", carrier_id: null, attempts: 1 });
    expect(m.carrier_message_id).toBeTruthy();
    expect(m.sent_at).toBeTruthy();
    expect(m.delivered_at).toBeTruthy();
    expect(await events(id)).toEqual(["sending", "sent", "delivered"]);
    expect(calls).toHaveLength(0);
  });
});

describe("dispatch through Twilio", () => {
  it("sends once with the pool's number, a ValidityPeriod and a status callback naming the message", async () => {
    const t = await tenant();
    const carrierId = await insertCarrier(t.id, { from: ["+15005550006"] });
    const { calls } = fakeTwilio();
    const id = await insertMessage(t.id, { to: "+14155550100", expiresAt: iso(Date.now() + 3_600_000) });
    await dispatch([id]);
    expect(calls).toHaveLength(1);
    const call = calls[0];
    expect(call?.accountSid).toBe(TWILIO_SID);
    expect(call?.form.get("To")).toBe("+14155550100");
    expect(call?.form.get("From")).toBe("+15005550006");
    const validity = Number(call?.form.get("ValidityPeriod"));
    expect(validity).toBeGreaterThan(3500);
    expect(validity).toBeLessThanOrEqual(3600);
    expect(call?.form.get("StatusCallback")).toBe(
      `https://herald.test/callbacks/twilio/${carrierId}/status?message_id=${id}`,
    );
    const m = await message(id);
    expect(m).toMatchObject({ status: "sent", carrier_id: carrierId, from: "+15005550006", attempts: 1 });
    expect(m.carrier_message_id).toMatch(/^SM/);
  });

  it("caps ValidityPeriod at 36000 s when more validity is left", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    const { calls } = fakeTwilio();
    const id = await insertMessage(t.id, { expiresAt: iso(Date.now() + 48 * 3_600_000) });
    await dispatch([id]);
    expect(calls[0]?.form.get("ValidityPeriod")).toBe("36000");
  });

  it("keeps a contact on the same number of the pool (sticky sender)", async () => {
    const t = await tenant();
    await insertCarrier(t.id, { from: ["+15005550001", "+15005550002", "+15005550003"], mps: 100 });
    const { calls } = fakeTwilio();
    const to = "+14155550177";
    for (let i = 0; i < 3; i++) await dispatch([await insertMessage(t.id, { to, body: `note ${i}` })]);
    expect(calls).toHaveLength(3);
    const froms = new Set(calls.map((c) => c.form.get("From")));
    expect(froms.size).toBe(1);
    // Other phones spread over the pool.
    for (let i = 0; i < 12; i++)
      await dispatch([await insertMessage(t.id, { to: `+1415555020${i % 10}${i}` })]);
    expect(new Set(calls.map((c) => c.form.get("From"))).size).toBeGreaterThan(1);
    // The contact's number leaves the pool: a new one is picked, and that one sticks.
    const first = [...froms][0] as string;
    const rest = ["+15005550001", "+15005550002", "+15005550003"].filter((n) => n !== first);
    await env.DB.prepare("UPDATE carriers SET from_numbers = ?, updated_at = ? WHERE tenant_id = ?")
      .bind(JSON.stringify(rest), new Date(Date.now() + 1000).toISOString(), t.id)
      .run();
    calls.length = 0;
    for (let i = 0; i < 2; i++) await dispatch([await insertMessage(t.id, { to, body: `later ${i}` })]);
    const later = calls.map((c) => c.form.get("From"));
    expect(rest).toContain(later[0]);
    expect(later[1]).toBe(later[0]);
  });

  it("a redelivered queue message sends once", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    const { calls } = fakeTwilio();
    const id = await insertMessage(t.id);
    // The same id twice in one batch, then delivered again in a later batch.
    const first = await dispatch([id, id]);
    const second = await dispatch([id]);
    expect(calls).toHaveLength(1);
    expect(first.explicitAcks).toHaveLength(2);
    expect(second.explicitAcks).toEqual(second.deliveryIds);
    expect(await message(id)).toMatchObject({ status: "sent", attempts: 1 });
    expect(await events(id)).toEqual(["sending", "sent"]);
  });

  it("a crash between the carrier's acceptance and the ack sends once", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    const { calls } = fakeTwilio();
    const id = await insertMessage(t.id);
    // First run: the carrier accepted, the row is sent, but the ack never reached the queue…
    await dispatch([id]);
    expect((await message(id)).status).toBe("sent");
    // …so the queue delivers the same message again.
    const again = await dispatch([id]);
    expect(again.retryMessages).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it("a crash during the carrier call is never resent blindly, and fails as unknown_outcome when validity ends", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    const { calls } = fakeTwilio();
    const expiresAt = iso(Date.now() + 60_000);
    const id = await insertMessage(t.id, { status: "sending", attempts: 1, expiresAt });
    await dispatch([id]);
    const { runScheduler } = await import("../../src/pipeline/scheduler");
    await runScheduler(env, Date.now());
    expect(calls).toHaveLength(0);
    expect((await message(id)).status).toBe("sending");
    await runScheduler(env, Date.now() + 120_000);
    expect(await message(id)).toMatchObject({ status: "failed", status_reason: "unknown_outcome" });
    expect(calls).toHaveLength(0);
  });

  it("a timeout after the request left leaves the row sending (no resend), acked", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    const { calls } = fakeTwilio(() => "network-error");
    const id = await insertMessage(t.id);
    const result = await dispatch([id]);
    expect(result.explicitAcks).toEqual(result.deliveryIds);
    expect(result.retryMessages).toEqual([]);
    const m = await message(id);
    expect(m.status).toBe("sending");
    expect(m.error_code).toBe("network_error");
    await dispatch([id]);
    expect(calls).toHaveLength(1);
  });

  it("honours 429 Retry-After: retried no sooner than the carrier asked, not counted as final", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    fakeTwilio(() => ({
      status: 429,
      body: { code: 20429, message: "Too Many Requests", status: 429 },
      headers: { "retry-after": "30" },
    }));
    const id = await insertMessage(t.id);
    const before = Date.now();
    const result = await dispatch([id]);
    expect(result.retryMessages).toHaveLength(1);
    expect(result.retryMessages[0]?.delaySeconds).toBeGreaterThanOrEqual(30);
    const m = await message(id);
    expect(m).toMatchObject({ status: "queued", attempts: 1, error_code: "20429" });
    expect(Date.parse(m.next_attempt_at ?? "")).toBeGreaterThanOrEqual(before + 30_000);
  });

  it("retries a 5xx with backoff and fails over to the next carrier by priority", async () => {
    const t = await tenant();
    const primary = await insertCarrier(t.id, { priority: 0, baseUrl: "http://127.0.0.2:9" });
    const secondary = await insertCarrier(t.id, { priority: 5, baseUrl: "http://127.0.0.3:9" });
    const { calls } = fakeTwilio((c) =>
      c.url.startsWith("http://127.0.0.2:")
        ? { status: 503, body: { code: 20503, message: "Service Unavailable" } }
        : { status: 201, body: {} },
    );
    const id = await insertMessage(t.id);
    const first = await dispatch([id]);
    expect(first.retryMessages).toHaveLength(1);
    expect(first.retryMessages[0]?.delaySeconds).toBeGreaterThanOrEqual(1);
    expect((await message(id)).status).toBe("queued");
    await dispatch([id]);
    expect(calls.map((c) => new URL(c.url).host)).toEqual(["127.0.0.2:9", "127.0.0.3:9"]);
    const m = await message(id);
    expect(m).toMatchObject({ status: "sent", carrier_id: secondary, attempts: 2, error_code: null });
    expect(m.carrier_id).not.toBe(primary);
  });

  it("a pinned carrier never fails over", async () => {
    const t = await tenant();
    const pinned = await insertCarrier(t.id, { priority: 9, baseUrl: "http://127.0.0.4:9" });
    await insertCarrier(t.id, { priority: 0, baseUrl: "http://127.0.0.5:9" });
    const { calls } = fakeTwilio((c) =>
      c.url.startsWith("http://127.0.0.4:") && calls.length === 1
        ? { status: 500, body: { code: 20500, message: "Internal" } }
        : { status: 201, body: {} },
    );
    const id = await insertMessage(t.id, { carrierId: pinned, pinned: true });
    await dispatch([id]);
    await dispatch([id]);
    expect(calls.map((c) => new URL(c.url).host)).toEqual(["127.0.0.4:9", "127.0.0.4:9"]);
    expect(await message(id)).toMatchObject({ status: "sent", carrier_id: pinned });
  });

  it("a message pinned to a deleted carrier fails with carrier_deleted", async () => {
    const t = await tenant();
    const gone = await insertCarrier(t.id, { deleted: true });
    const { calls } = fakeTwilio();
    const id = await insertMessage(t.id, { carrierId: gone, pinned: true });
    await dispatch([id]);
    expect(await message(id)).toMatchObject({ status: "failed", status_reason: "carrier_deleted" });
    expect(calls).toHaveLength(0);
  });

  it("a permanent failure stops after one attempt and keeps the carrier's code and message", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    await insertCarrier(t.id, { priority: 1 });
    const { calls } = fakeTwilio(() => ({
      status: 400,
      body: { code: 21211, message: "The 'To' number +1415 is not a valid phone number.", status: 400 },
    }));
    const id = await insertMessage(t.id);
    const result = await dispatch([id]);
    expect(result.retryMessages).toEqual([]);
    await dispatch([id]);
    expect(calls).toHaveLength(1);
    expect(await message(id)).toMatchObject({
      status: "failed",
      status_reason: "21211",
      error_code: "21211",
      error_message: "The 'To' number +1415 is not a valid phone number.",
      attempts: 1,
    });
  });

  it("an opt-out reported by the carrier also unsubscribes the contact", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    const created = { body: { id: await insertContact(t.id, "+14155550199") } };
    fakeTwilio(() => ({
      status: 400,
      body: { code: 21610, message: "Attempt to send to unsubscribed recipient", status: 400 },
    }));
    const id = await insertMessage(t.id, { to: "+14155550199", contactId: created.body.id });
    await dispatch([id]);
    expect(await message(id)).toMatchObject({ status: "failed", error_code: "21610" });
    const contact = await env.DB.prepare("SELECT subscribed FROM contacts WHERE id = ?")
      .bind(created.body.id)
      .first<{ subscribed: number }>();
    expect(contact?.subscribed).toBe(0);
    // The next message to that phone is suppressed before any carrier call.
    const { calls } = fakeTwilio();
    const next = await insertMessage(t.id, { to: "+14155550199", contactId: created.body.id });
    await dispatch([next]);
    expect(await message(next)).toMatchObject({ status: "suppressed", status_reason: "opted_out" });
    expect(calls).toHaveLength(0);
  });

  it("the eighth failed attempt marks the message failed", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    fakeTwilio(() => ({ status: 500, body: { code: 20500, message: "Internal Server Error" } }));
    const id = await insertMessage(t.id, { attempts: 7 });
    const result = await dispatch([id]);
    expect(result.retryMessages).toEqual([]);
    expect(await message(id)).toMatchObject({ status: "failed", status_reason: "20500", attempts: 8 });
  });
});

describe("webhooks", () => {
  it("a subscribed endpoint gets message.sent and message.delivered carrying the Message object", async () => {
    const t = await tenant();
    const now = iso();
    await env.DB.prepare(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret_sealed, status, consecutive_failures, created_at, updated_at)
       VALUES (?, ?, 'http://127.0.0.1:9/herald', '["message.sent","message.delivered"]', 'sealed', 'enabled', 0, ?, ?)`,
    )
      .bind(newId("webhookEndpoint"), t.id, now, now)
      .run();
    fakeTwilio();
    const id = await insertMessage(t.id, { to: "+14155550142" });
    await dispatch([id]);
    const { results } = await env.DB.prepare(
      "SELECT event_type, payload FROM webhook_deliveries WHERE tenant_id = ? ORDER BY event_type DESC",
    )
      .bind(t.id)
      .all<{ event_type: string; payload: string }>();
    expect(results.map((r) => r.event_type)).toEqual(["message.sent", "message.delivered"]);
    const sent = JSON.parse(results[0]?.payload ?? "{}");
    expect(sent).toMatchObject({ type: "message.sent", data: { id, to: "+14155550142", status: "sent" } });
    expect(sent.data.carrier_message_id).toBeTruthy();
  });
});

describe("re-checks just before the carrier call", () => {
  it("expires a message whose validity ended", async () => {
    const t = await tenant();
    const { calls } = fakeTwilio();
    const id = await insertMessage(t.id, { expiresAt: iso(Date.now() - 1000) });
    await dispatch([id]);
    expect((await message(id)).status).toBe("expired");
    expect(calls).toHaveLength(0);
  });

  it("suppresses a message to a contact who unsubscribed after it was queued", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    const { calls } = fakeTwilio();
    const c = { body: { id: await insertContact(t.id, "+14155550123") } };
    const id = await insertMessage(t.id, { to: "+14155550123", contactId: c.body.id });
    await env.DB.prepare("UPDATE contacts SET subscribed = 0 WHERE id = ?").bind(c.body.id).run();
    await dispatch([id]);
    expect(await message(id)).toMatchObject({ status: "suppressed", status_reason: "opted_out" });
    expect(calls).toHaveLength(0);
  });

  it.each([
    ["a row carrying its phone hash", false],
    ["a row written before messages carried the hash", true],
  ])(
    "suppresses a message whose phone was opted out after it was queued (%s)",
    async (_, withoutPhoneHash) => {
      const t = await tenant();
      await insertCarrier(t.id);
      const { calls } = fakeTwilio();
      const to = nextPhone();
      const id = await insertMessage(t.id, { to, withoutPhoneHash });
      // No contact: only the kept opt-out (by keyed phone hash) knows this phone said STOP.
      await env.DB.prepare(
        "INSERT INTO suppressions (tenant_id, phone_hash, reason, created_at) VALUES (?, ?, 'opted_out', ?)",
      )
        .bind(t.id, await phoneHash(env.ENCRYPTION_KEY, t.id, to), iso(Date.now()))
        .run();
      const other = await insertMessage(t.id, { withoutPhoneHash });
      await dispatch([id, other]);
      expect(await message(id)).toMatchObject({ status: "suppressed", status_reason: "opted_out" });
      expect((await message(other)).status).toBe("sent");
      expect(calls).toHaveLength(1);
    },
  );

  it("still sends a keyword reply (the STOP confirmation) to an unsubscribed contact", async () => {
    const t = await tenant();
    const c = { body: { id: await insertContact(t.id, "+14155550124") } };
    await env.DB.prepare("UPDATE contacts SET subscribed = 0 WHERE id = ?").bind(c.body.id).run();
    const id = await insertMessage(t.id, { to: "+14155550124", contactId: c.body.id, keywordReply: true });
    await dispatch([id]);
    expect((await message(id)).status).toBe("delivered");
  });
});

describe("rate limits", () => {
  it("paces a batch to the carrier pool's rate, and what doesn't fit waits on the queue without an attempt", async () => {
    const t = await tenant();
    await insertCarrier(t.id, { mps: 1 });
    const { calls } = fakeTwilio();
    const ids = [];
    for (let i = 0; i < 9; i++) ids.push(await insertMessage(t.id, { body: `rate ${i}` }));
    const before = Date.now();
    const result = await dispatch(ids);
    const elapsedS = (Date.now() - before) / 1000;
    // Never more than the bucket (1) plus what refilled meanwhile, at most one per second after that.
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.length).toBeLessThanOrEqual(1 + Math.ceil(elapsedS));
    const times = calls.map((c) => c.at).sort((a, b) => a - b);
    for (let i = 2; i < times.length; i++)
      expect((times[i] ?? 0) - (times[i - 2] ?? 0)).toBeGreaterThanOrEqual(900);
    // Waiting is not a retry: every delivery is acked (the waiting ones went back on the queue with a delay).
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual([...result.deliveryIds].sort());
    const states = await Promise.all(ids.map(message));
    expect(states.filter((m) => m.status === "sent")).toHaveLength(calls.length);
    const waiting = states.filter((m) => m.status === "queued");
    expect(waiting.length).toBe(9 - calls.length);
    expect(waiting.length).toBeGreaterThan(0);
    for (const m of waiting) {
      expect(m.attempts).toBe(0);
      expect(Date.parse(m.next_attempt_at ?? "")).toBeGreaterThan(before);
    }
  });

  it("counts segments as tokens", async () => {
    const t = await tenant();
    await insertCarrier(t.id, { mps: 4 });
    const { calls } = fakeTwilio();
    const a = await insertMessage(t.id, { segments: 3, body: "long" });
    const b = await insertMessage(t.id, { segments: 3, body: "long too" });
    await dispatch([a, b]);
    expect(calls).toHaveLength(2);
    // 3 of 4 tokens for the first; the second needs 2 more tokens, i.e. half a second at 4/s.
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(450);
  });

  it("shares the tenant-wide bucket across the tenant's carriers", async () => {
    // The operator's setting, through the API (POST /v1/tenants accepts mps).
    const t = await tenant({ mps: 2 });
    await insertCarrier(t.id, { mps: 100 });
    const { calls } = fakeTwilio();
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await insertMessage(t.id, { body: `tenant ${i}` }));
    await dispatch(ids);
    // Only this test's messages: another test's message waiting on the real queue may arrive meanwhile.
    const times = calls
      .filter((c) => c.form.get("Body")?.startsWith("tenant "))
      .map((c) => c.at)
      .sort((x, y) => x - y);
    expect(times.length).toBe(4);
    // Two at once (the bucket), then one per half second.
    expect((times[3] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(900);
  });
});

describe("dead letters", () => {
  it("marks exhausted messages failed with their last error, or retries_exhausted", async () => {
    const t = await tenant();
    const withError = await insertMessage(t.id, { attempts: 8, errorCode: "20429" });
    const without = await insertMessage(t.id, { attempts: 8 });
    const delivered = await insertMessage(t.id, { status: "delivered" });
    const result = await dispatch([withError, without, delivered], "herald-dispatch-dlq");
    expect(result.ackAll || result.explicitAcks.length === 3).toBe(true);
    expect(await message(withError)).toMatchObject({ status: "failed", status_reason: "20429" });
    expect(await message(without)).toMatchObject({ status: "failed", status_reason: "retries_exhausted" });
    expect((await message(delivered)).status).toBe("delivered");
  });
});
