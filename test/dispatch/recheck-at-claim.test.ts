import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { iso } from "../../src/lib/time";
import { unsubscribePhone } from "../../src/services/contacts/consent";
import { serviceContext } from "../../src/services/context";
import { deliverWith, faultyEnv, tickWith } from "../helpers/faults";
import {
  events,
  fakeTwilio,
  insertCarrier,
  insertContact,
  insertMessage,
  message,
  nextPhone,
  tenant,
} from "./fixtures";

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * The real D1 binding, wrapped so that `land` runs (on the real D1) right before the batch that
 * carries the dispatcher's claim (the UPDATE counting a carrier call) executes: a write that lands
 * between the batch's load and its claim, deterministically. Nothing of Herald's is stubbed.
 */
function landingBeforeClaim(base: Env, land: () => Promise<unknown>): Env {
  let armed = false;
  let landed = false;
  const db = new Proxy(base.DB, {
    get(target, prop) {
      if (prop === "prepare")
        return (query: string) => {
          if (query.includes('"attempts" = messages."attempts" + 1')) armed = true;
          return target.prepare(query);
        };
      if (prop === "batch")
        return async (stmts: D1PreparedStatement[]) => {
          if (armed && !landed) {
            landed = true;
            await land();
          }
          return target.batch(stmts);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { ...base, DB: db };
}

describe("a STOP that lands between the batch's load and its claim (rule 1, defect 3)", () => {
  it.each([
    ["a contact's phone", true],
    ["a phone known only by its kept opt-out", false],
  ])(
    "wins: the claim refuses %s and the row ends suppressed / opted_out, never sent",
    async (_, withContact) => {
      const t = await tenant();
      await insertCarrier(t.id);
      const { calls } = fakeTwilio();
      const to = nextPhone();
      const contactId = withContact ? await insertContact(t.id, to) : null;
      const id = await insertMessage(t.id, { to, contactId });
      const other = await insertMessage(t.id, { body: "to someone else" });
      const wrapped = landingBeforeClaim(env, () =>
        unsubscribePhone(serviceContext(env, t.id), to, { source: "sms", text: "STOP" }),
      );
      const { result, threw } = await deliverWith(wrapped, "herald-dispatch", [
        { messageId: id },
        { messageId: other },
      ]);
      expect(threw).toBeNull();
      expect(result.retryMessages).toEqual([]);
      expect(result.explicitAcks).toHaveLength(2);
      expect(await message(id)).toMatchObject({
        status: "suppressed",
        status_reason: "opted_out",
        attempts: 0,
      });
      expect(await events(id)).toEqual(["suppressed"]);
      expect(calls.map((c) => c.form.get("To"))).not.toContain(to);
      // The rest of the batch is not held back by it.
      expect((await message(other)).status).toBe("sent");
      expect(calls).toHaveLength(1);
    },
  );

  it("still sends the STOP confirmation itself (keyword replies skip consent at the claim too)", async () => {
    const t = await tenant();
    const to = nextPhone();
    const id = await insertMessage(t.id, { to, keywordReply: true });
    const wrapped = landingBeforeClaim(env, () =>
      unsubscribePhone(serviceContext(env, t.id), to, { source: "sms", text: "STOP" }),
    );
    await deliverWith(wrapped, "herald-dispatch", [{ messageId: id }]);
    expect((await message(id)).status).toBe("delivered");
  });
});

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const MIN = 60_000;

/** A tenant whose quiet window (UTC contact) began a minute ago and ends in an hour. */
async function quietNow() {
  const t = await tenant();
  const now = Date.now();
  const end = Math.floor(now / MIN) * MIN + 60 * MIN;
  const set = await t.api.patch("/v1/tenant", { quiet_hours: { start: hhmm(now - MIN), end: hhmm(end) } });
  if (set.status !== 200) throw new Error(`quiet hours: ${set.text}`);
  const to = nextPhone();
  const contactId = await insertContact(t.id, to);
  await env.DB.prepare("UPDATE contacts SET timezone = 'UTC' WHERE id = ?").bind(contactId).run();
  return { t, to, contactId, now, end };
}

describe("quiet hours re-checked at dispatch (rule 5, defect 10)", () => {
  it("a marketing message deferred into quiet hours goes back to scheduled for the next allowed minute, validity counted from it", async () => {
    const { t, to, contactId, now, end } = await quietNow();
    await insertCarrier(t.id);
    const { calls } = fakeTwilio();
    // Due 10 minutes ago (before quiet hours began), held since by tokens or retries; valid 70 minutes.
    const id = await insertMessage(t.id, {
      to,
      contactId,
      category: "marketing",
      scheduledAt: iso(now - 10 * MIN),
      expiresAt: iso(now + 60 * MIN),
    });
    await env.DB.prepare("UPDATE messages SET quiet_hours = 'enforce' WHERE id = ?").bind(id).run();
    // A transactional send that ignores quiet hours goes at once.
    const code = await insertMessage(t.id, { to, contactId, body: "Your code is 424242" });
    const { result, threw } = await deliverWith(env, "herald-dispatch", [
      { messageId: id },
      { messageId: code },
    ]);
    expect(threw).toBeNull();
    expect(result.explicitAcks).toHaveLength(2);
    const m = await env.DB.prepare(
      "SELECT status, scheduled_at, expires_at, next_attempt_at, attempts FROM messages WHERE id = ?",
    )
      .bind(id)
      .first<{
        status: string;
        scheduled_at: string;
        expires_at: string;
        next_attempt_at: string | null;
        attempts: number;
      }>();
    expect(m).toMatchObject({ status: "scheduled", scheduled_at: iso(end), attempts: 0 });
    expect(m?.expires_at).toBe(iso(end + 70 * MIN));
    expect(await events(id)).toEqual(["scheduled"]);
    expect((await message(code)).status).toBe("sent");
    expect(calls).toHaveLength(1);
    expect(calls[0]?.form.get("Body")).toBe("Your code is 424242");
    // Still inside quiet hours, a tick leaves it alone; at the allowed minute the sweep releases it.
    const early = faultyEnv(env, { capture: true });
    await tickWith(early.env, end - MIN);
    expect((await message(id)).status).toBe("scheduled");
    const due = faultyEnv(env, { capture: true });
    await tickWith(due.env, end);
    expect((await message(id)).status).toBe("queued");
    expect(due.takeCaptured("herald-dispatch").map((c) => c.body)).toContainEqual({ messageId: id });
  });

  it("a keyword reply is sent inside quiet hours", async () => {
    const { t, to, contactId } = await quietNow();
    const id = await insertMessage(t.id, { to, contactId, keywordReply: true });
    await env.DB.prepare("UPDATE messages SET quiet_hours = 'enforce' WHERE id = ?").bind(id).run();
    await deliverWith(env, "herald-dispatch", [{ messageId: id }]);
    expect((await message(id)).status).toBe("delivered");
  });
});
