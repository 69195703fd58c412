import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { messageEvents, messages } from "../../src/db/schema";
import { serviceContext } from "../../src/services/context";
import { cancelPendingMessages, createMessages, type NewMessage } from "../../src/services/messages/create";
import { newTenant } from "../helpers/tenant";
import { seedContact, seedSuppression } from "./fixtures";

const NY_PHONE = "+12125550100"; // Manhattan: America/New_York
const FL_PHONE = "+13055550100"; // Miami
const db = createDb(env.DB);

const msg = (over: Partial<NewMessage> & Pick<NewMessage, "to">): NewMessage => ({
  contactId: null,
  body: "Your code is 1234",
  category: "transactional",
  quietHours: "ignore",
  validityHours: 24,
  ...over,
});

async function setup(settings: Record<string, unknown> = {}) {
  const t = await newTenant(settings);
  return { t, ctx: serviceContext(env, t.id) };
}

describe("createMessages", () => {
  it("queues a transactional message with a lease, encoding and a first event", async () => {
    const { ctx } = await setup();
    const [r] = await createMessages(ctx, [msg({ to: NY_PHONE, body: "It’s ready" })]);
    expect(r?.created).toBe(true);
    const m = r?.message;
    expect(m?.status).toBe("queued");
    expect(m?.encoding).toBe("UCS-2");
    expect(m?.segments).toBe(1);
    expect(m?.characters).toBe(10);
    // One lease (rule 9): due now; the sweep rings it once that is 2 minutes past.
    const lease = Date.parse(m?.nextAttemptAt ?? "");
    expect(lease).toBeLessThanOrEqual(Date.now());
    expect(lease).toBeGreaterThan(Date.now() - 60_000);
    expect(Date.parse(m?.expiresAt ?? "") - Date.parse(m?.scheduledAt ?? "")).toBe(24 * 3_600_000);
    const events = await db
      .select()
      .from(messageEvents)
      .where(eq(messageEvents.messageId, m?.id ?? ""));
    expect(events.map((e) => e.status)).toContain("queued");
  });

  it("links the contact of `to` and suppresses opted-out phones, by contact and by kept hash", async () => {
    const { t, ctx } = await setup();
    const gone = await seedContact(t.id, { phone: "+12125550101", subscribed: false });
    await seedSuppression(t.id, "+12125550102");
    const out = await createMessages(ctx, [
      msg({ to: "+12125550101" }),
      msg({ to: "+12125550102" }),
      msg({ to: "+12125550101", keywordReply: true, body: "You're unsubscribed." }),
    ]);
    expect(out.map((r) => [r.message.status, r.message.statusReason])).toEqual([
      ["suppressed", "opted_out"],
      ["suppressed", "opted_out"],
      ["queued", null],
    ]);
    expect(out[0]?.message.contactId).toBe(gone);
    const events = await db
      .select()
      .from(messageEvents)
      .where(eq(messageEvents.messageId, out[0]?.message.id ?? ""));
    expect(events).toEqual([expect.objectContaining({ status: "suppressed", detail: "opted_out" })]);
  });

  it("requires marketing_opt_in for marketing", async () => {
    const { t, ctx } = await setup();
    const c = await seedContact(t.id, { phone: NY_PHONE, marketingOptIn: false });
    const [r] = await createMessages(ctx, [msg({ to: NY_PHONE, contactId: c, category: "marketing" })]);
    expect(r?.message).toMatchObject({ status: "suppressed", statusReason: "no_consent" });
    const [stranger] = await createMessages(ctx, [msg({ to: "+12125550199", category: "marketing" })]);
    expect(stranger?.message).toMatchObject({ status: "suppressed", statusReason: "no_consent" });
  });

  it("creates an occurrence once, across calls and within one call", async () => {
    const { ctx } = await setup();
    const first = await createMessages(ctx, [
      msg({ to: NY_PHONE, occurrenceKey: "pg_1:ct_1:2026", body: "A" }),
    ]);
    const again = await createMessages(ctx, [
      msg({ to: NY_PHONE, occurrenceKey: "pg_1:ct_1:2026", body: "B" }),
      msg({ to: NY_PHONE, occurrenceKey: "pg_1:ct_1:2027", body: "C" }),
      msg({ to: NY_PHONE, occurrenceKey: "pg_1:ct_1:2027", body: "D" }),
    ]);
    expect(again[0]).toEqual({ message: first[0]?.message, created: false });
    expect(again[1]?.created).toBe(true);
    expect(again[2]).toEqual({ message: again[1]?.message, created: false });
    const rows = await db.select().from(messages).where(eq(messages.tenantId, ctx.tenantId));
    expect(rows).toHaveLength(2);
  });

  it("dedupes the same text to the same phone across programs, not within one program", async () => {
    const { ctx } = await setup();
    const notice = "Your bill of $42 is due Friday.";
    const [a] = await createMessages(ctx, [msg({ to: NY_PHONE, body: notice, programId: "pg_billing" })]);
    const out = await createMessages(ctx, [
      msg({ to: NY_PHONE, body: notice, programId: "pg_finance" }),
      msg({ to: NY_PHONE, body: notice, programId: "pg_billing" }),
      msg({ to: NY_PHONE, body: notice }),
      msg({ to: "+12125550177", body: notice }),
    ]);
    expect(a?.message.status).toBe("queued");
    expect(out.map((r) => r.message.statusReason)).toEqual(["duplicate", null, "duplicate", null]);
  });

  it("dedupes within one call too", async () => {
    const { ctx } = await setup();
    const out = await createMessages(ctx, [
      msg({ to: NY_PHONE, body: "Same" }),
      msg({ to: NY_PHONE, body: "Same" }),
    ]);
    expect(out.map((r) => r.message.status)).toEqual(["queued", "suppressed"]);
  });

  it("caps marketing at the tenant's frequency cap, and Florida numbers at 3 per 24 h", async () => {
    const { t, ctx } = await setup();
    expect(
      (await t.api.patch("/v1/tenant", { frequency_cap: { max_messages: 4, window_hours: 24 } })).status,
    ).toBe(200);
    await seedContact(t.id, { phone: NY_PHONE, timezone: "UTC" });
    await seedContact(t.id, { phone: FL_PHONE, timezone: "UTC" });
    const blast = (to: string) =>
      [1, 2, 3, 4, 5].map((n) =>
        msg({ to, category: "marketing", body: `Offer ${n}`, quietHours: "ignore" }),
      );
    const ny = await createMessages(ctx, blast(NY_PHONE));
    expect(ny.map((r) => r.message.statusReason)).toEqual([null, null, null, null, "frequency_cap"]);
    const fl = await createMessages(ctx, blast(FL_PHONE).slice(0, 2));
    const fl2 = await createMessages(ctx, blast(FL_PHONE).slice(2));
    expect([...fl, ...fl2].map((r) => r.message.statusReason)).toEqual([
      null,
      null,
      null,
      "frequency_cap",
      "frequency_cap",
    ]);
    // transactional messages are never capped
    const tx = await createMessages(ctx, [msg({ to: FL_PHONE, body: "Receipt #1" })]);
    expect(tx[0]?.message.status).toBe("queued");
  });

  it("appends the opt-out footer to marketing unless the body says STOP, and dedupes without it", async () => {
    const { t, ctx } = await setup();
    await seedContact(t.id, { phone: NY_PHONE, timezone: "UTC" });
    const out = await createMessages(ctx, [
      msg({ to: NY_PHONE, category: "marketing", body: "20% off today" }),
      msg({ to: NY_PHONE, category: "marketing", body: "Sale! Text stop to quit" }),
    ]);
    expect(out[0]?.message.body).toBe("20% off today Reply STOP to opt out.");
    expect(out[1]?.message.body).toBe("Sale! Text stop to quit");
    const [dup] = await createMessages(ctx, [msg({ to: NY_PHONE, body: "20% off today" })]);
    expect(dup?.message.statusReason).toBe("duplicate");
  });

  it("defers marketing due inside quiet hours to the next allowed minute; validity counts from there", async () => {
    const { t, ctx } = await setup();
    await seedContact(t.id, { phone: NY_PHONE, timezone: "America/New_York" });
    await seedContact(t.id, { phone: FL_PHONE });
    const out = await createMessages(ctx, [
      // 22:00 EST → 08:00 EST
      msg({
        to: NY_PHONE,
        category: "marketing",
        body: "A",
        sendAt: "2030-01-15T03:00:00.000Z",
        quietHours: "enforce",
      }),
      // 20:30 EST: allowed in New York, quiet in Florida
      msg({
        to: NY_PHONE,
        category: "marketing",
        body: "B",
        sendAt: "2030-01-15T01:30:00.000Z",
        quietHours: "enforce",
      }),
      msg({
        to: FL_PHONE,
        category: "marketing",
        body: "C",
        sendAt: "2030-01-15T01:30:00.000Z",
        quietHours: "enforce",
      }),
      // transactional with quiet hours ignored goes at its time
      msg({ to: NY_PHONE, body: "D", sendAt: "2030-01-15T03:00:00.000Z" }),
    ]);
    expect(out.map((r) => [r.message.status, r.message.scheduledAt])).toEqual([
      ["scheduled", "2030-01-15T13:00:00.000Z"],
      ["scheduled", "2030-01-15T01:30:00.000Z"],
      ["scheduled", "2030-01-15T13:00:00.000Z"],
      ["scheduled", "2030-01-15T03:00:00.000Z"],
    ]);
    expect(out[0]?.message.expiresAt).toBe("2030-01-16T13:00:00.000Z");
  });

  it("quiet-hours deferral across DST in America/New_York and Europe/Berlin", async () => {
    const { t, ctx } = await setup();
    await seedContact(t.id, { phone: NY_PHONE, timezone: "America/New_York" });
    await seedContact(t.id, { phone: "+4915112345678", timezone: "Europe/Berlin" });
    const out = await createMessages(ctx, [
      // 2030-03-10 00:30 EST; clocks spring forward at 02:00 → 08:00 EDT = 12:00Z
      msg({
        to: NY_PHONE,
        category: "marketing",
        body: "A",
        sendAt: "2030-03-10T05:30:00.000Z",
        quietHours: "enforce",
      }),
      // 2030-11-03 00:30 EDT; clocks fall back at 02:00 → 08:00 EST = 13:00Z
      msg({
        to: NY_PHONE,
        category: "marketing",
        body: "B",
        sendAt: "2030-11-03T04:30:00.000Z",
        quietHours: "enforce",
      }),
      // 2030-03-30 23:00 CET; spring forward on the 31st → 08:00 CEST = 06:00Z
      msg({
        to: "+4915112345678",
        category: "marketing",
        body: "C",
        sendAt: "2030-03-30T22:00:00.000Z",
        quietHours: "enforce",
      }),
      // 2030-10-26 23:00 CEST; fall back on the 27th → 08:00 CET = 07:00Z
      msg({
        to: "+4915112345678",
        category: "marketing",
        body: "D",
        sendAt: "2030-10-26T21:00:00.000Z",
        quietHours: "enforce",
      }),
    ]);
    expect(out.map((r) => r.message.scheduledAt)).toEqual([
      "2030-03-10T12:00:00.000Z",
      "2030-11-03T13:00:00.000Z",
      "2030-03-31T06:00:00.000Z",
      "2030-10-27T07:00:00.000Z",
    ]);
  });

  it("infers the zone from the number when the contact has none (any candidate zone quiet → quiet)", async () => {
    const { ctx } = await setup();
    // +1 850: Florida panhandle, Central and Eastern; 07:30 Eastern is quiet; 08:00 Central is 14:00Z
    const [r] = await createMessages(ctx, [
      msg({ to: "+18505550123", body: "Hi", sendAt: "2030-01-15T12:30:00.000Z", quietHours: "enforce" }),
    ]);
    expect(r?.message.scheduledAt).toBe("2030-01-15T14:00:00.000Z");
  });

  it("marks a message whose validity already ended as expired, and presets as suppressed", async () => {
    const { ctx } = await setup();
    const out = await createMessages(ctx, [
      msg({ to: NY_PHONE, body: "Late", sendAt: "2020-01-01T00:00:00.000Z" }),
      msg({ to: NY_PHONE, body: "Hi {{x}}", presetSuppression: "missing_data" }),
    ]);
    expect(out.map((r) => [r.message.status, r.message.statusReason])).toEqual([
      ["expired", null],
      ["suppressed", "missing_data"],
    ]);
  });

  it("writes hundreds of rows in chunks and returns them in input order", async () => {
    const { ctx } = await setup();
    const inputs = Array.from({ length: 250 }, (_, i) =>
      msg({ to: `+1212555${String(1000 + i)}`, body: `Code ${i}`, occurrenceKey: `bulk:${i}` }),
    );
    const out = await createMessages(ctx, inputs);
    expect(out).toHaveLength(250);
    expect(out.every((r, i) => r.created && r.message.to === inputs[i]?.to)).toBe(true);
    const again = await createMessages(ctx, inputs);
    expect(again.every((r, i) => !r.created && r.message.id === out[i]?.message.id)).toBe(true);
  });

  it("cancelPendingMessages cancels only pending messages of the match", async () => {
    const { ctx } = await setup();
    const out = await createMessages(ctx, [
      msg({ to: NY_PHONE, body: "Later 1", sendAt: "2030-01-01T15:00:00.000Z" }),
      msg({ to: NY_PHONE, body: "Later 2", sendAt: "2030-01-02T15:00:00.000Z", programId: "pg_x" }),
      msg({ to: "+12125550177", body: "Other", sendAt: "2030-01-02T15:00:00.000Z" }),
    ]);
    expect(await cancelPendingMessages(ctx, { programId: "pg_x" }, { reason: "exited" })).toBe(1);
    expect(await cancelPendingMessages(ctx, { phone: NY_PHONE })).toBe(1);
    expect(await cancelPendingMessages(ctx, { phone: NY_PHONE })).toBe(0);
    const rows = await db.select().from(messages).where(eq(messages.tenantId, ctx.tenantId));
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(out[0]?.message.id ?? "")?.status).toBe("canceled");
    expect(byId.get(out[1]?.message.id ?? "")).toMatchObject({ status: "canceled", statusReason: "exited" });
    expect(byId.get(out[2]?.message.id ?? "")?.status).toBe("scheduled");
  });
});
