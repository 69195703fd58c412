import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_SEND_ATTEMPTS } from "../../src/domain/backoff";
import type { Env } from "../../src/env";
import { iso } from "../../src/lib/time";
import { twilioSign } from "../callbacks/helpers";
import { call } from "../helpers/api";
import { deliverWith, faultyEnv, tickWith } from "../helpers/faults";
import { events, fakeTwilio, insertCarrier, insertMessage, message, tenant } from "./fixtures";

afterEach(() => {
  vi.restoreAllMocks();
});

const MIN = 60_000;
const MAX_RETRIES = 8; // wrangler.jsonc, herald-dispatch

/** A binding that is down: every call throws (wraps the real binding's shape, never Herald's code). */
function down<T extends object>(binding: T): T {
  return new Proxy(binding, {
    get() {
      return () => {
        throw new Error("binding unavailable");
      };
    },
  });
}

describe("outages are not attempts (defect 6)", () => {
  it("a rate-limiter outage over every delivery never fails a message that was never tried", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    const { calls } = fakeTwilio();
    const id = await insertMessage(t.id);
    // The limiter throws on every delivery, one more than the queue's max_retries.
    for (let attempt = 1; attempt <= MAX_RETRIES + 1; attempt++) {
      const f = faultyEnv(env, { target: "RATE_LIMITER", nth: 1, capture: true });
      const before = Date.now();
      const { result, threw } = await deliverWith(f.env, "herald-dispatch", [{ messageId: id }], attempt);
      expect(threw).toBeNull();
      // Acked and sent again with a delay: a retry() would count toward max_retries.
      expect(result.retryMessages).toEqual([]);
      expect(result.explicitAcks).toHaveLength(1);
      const resent = f.takeCaptured("herald-dispatch");
      expect(resent).toHaveLength(1);
      expect(resent[0]?.body).toEqual({ messageId: id });
      expect(resent[0]?.delaySeconds).toBeGreaterThanOrEqual(30);
      const m = await message(id);
      expect(m).toMatchObject({ status: "queued", attempts: 0 });
      expect(Date.parse(m.next_attempt_at ?? "")).toBeGreaterThanOrEqual(before + 30_000);
    }
    // Even if its deliveries did run out, the dead-letter consumer gives it back instead of failing it.
    await deliverWith(env, "herald-dispatch-dlq", [{ messageId: id }]);
    const m = await message(id);
    expect(m).toMatchObject({ status: "queued", attempts: 0 });
    expect(await events(id)).not.toContain("failed");
    // The limiter is back: the message is tried and sent, once.
    await deliverWith(env, "herald-dispatch", [{ messageId: id }]);
    expect(await message(id)).toMatchObject({ status: "sent", attempts: 1 });
    expect(calls).toHaveLength(1);
  });

  it("D1 down: nothing is marked, the id goes back on the queue with a delay, and the delivery is acked", async () => {
    const t = await tenant();
    const id = await insertMessage(t.id);
    const f = faultyEnv(env, { capture: true });
    const dead = { ...f.env, DB: down(env.DB) } as Env;
    const { result, threw } = await deliverWith(dead, "herald-dispatch", [{ messageId: id }], 3);
    expect(threw).toBeNull();
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(f.takeCaptured("herald-dispatch").map((m) => m.body)).toEqual([{ messageId: id }]);
    expect(await message(id)).toMatchObject({ status: "queued", attempts: 0 });
  });

  it("D1 and the queue down: the delivery is retried with a delay (the last resort), and the row stays for the sweep", async () => {
    const t = await tenant();
    const id = await insertMessage(t.id, { nextAttemptAt: iso(Date.now() - 10 * MIN) });
    const dead = { ...env, DB: down(env.DB), DISPATCH_QUEUE: down(env.DISPATCH_QUEUE) } as Env;
    const { result, threw } = await deliverWith(dead, "herald-dispatch", [{ messageId: id }]);
    expect(threw).toBeNull();
    expect(result.retryMessages).toHaveLength(1);
    // The row is untouched (queued, attempts 0, its old lease): the next tick's sweep rings again.
    expect(await message(id)).toMatchObject({ status: "queued", attempts: 0 });
    const f = faultyEnv(env, { capture: true });
    await tickWith(f.env, Date.now());
    expect(f.takeCaptured("herald-dispatch").map((m) => m.body)).toContainEqual({ messageId: id });
  });
});

describe("dead letters fail only what really used up its attempts (defect 6)", () => {
  it("attempts below the maximum go back to queued with a lease; exhausted rows fail; sending stays sending and a later callback lifts it", async () => {
    const t = await tenant();
    const carrierId = await insertCarrier(t.id);
    const untried = await insertMessage(t.id, { nextAttemptAt: iso(Date.now() + 60 * MIN) });
    // Tried once by a carrier; the queue's other deliveries were spent on outages.
    const partly = await insertMessage(t.id, { attempts: 1, errorCode: "20500" });
    const exhausted = await insertMessage(t.id, { attempts: MAX_SEND_ATTEMPTS, errorCode: "20500" });
    const inFlight = await insertMessage(t.id, { status: "sending", attempts: 1, carrierId });
    await env.DB.prepare("UPDATE messages SET carrier_message_id = ? WHERE id = ?")
      .bind("SMfeedfeedfeedfeedfeedfeedfeedfeed", inFlight)
      .run();
    const before = Date.now();
    await deliverWith(env, "herald-dispatch-dlq", [
      { messageId: untried },
      { messageId: partly },
      { messageId: exhausted },
      { messageId: inFlight },
    ]);
    for (const [id, attempts] of [
      [untried, 0],
      [partly, 1],
    ] as const) {
      const u = await message(id);
      expect(u).toMatchObject({ status: "queued", attempts });
      // Its lease ran out now: the sweep rings it again after the grace.
      expect(Date.parse(u.next_attempt_at ?? "")).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(u.next_attempt_at ?? "")).toBeLessThanOrEqual(Date.now());
    }
    const f = faultyEnv(env, { capture: true });
    await tickWith(f.env, Date.now() + 3 * MIN);
    const rung = f.takeCaptured("herald-dispatch").map((m) => m.body);
    expect(rung).toContainEqual({ messageId: untried });
    expect(rung).toContainEqual({ messageId: partly });

    expect(await message(exhausted)).toMatchObject({
      status: "failed",
      status_reason: "20500",
      attempts: MAX_SEND_ATTEMPTS,
    });
    expect((await message(inFlight)).status).toBe("sending");

    // The carrier's callback arrives later and lifts it.
    const path = `/callbacks/twilio/${carrierId}/status?message_id=${inFlight}`;
    const params = {
      MessageSid: "SMfeedfeedfeedfeedfeedfeedfeedfeed",
      MessageStatus: "delivered",
      AccountSid: "AC0123456789abcdef0123456789abcdef",
    };
    const res = await call("POST", path, {
      rawBody: new URLSearchParams(params).toString(),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": await twilioSign("secret-token", `https://herald.test${path}`, params),
      },
    });
    expect(res.status).toBeLessThan(300);
    expect((await message(inFlight)).status).toBe("delivered");
  });
});
