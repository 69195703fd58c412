import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { newTenant } from "../helpers/tenant";
import { at, createContact, createProgram, messagesOf, phone, resetScheduler, tick } from "./helpers";

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ["Date"] });
  await resetScheduler();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("birthday programs", () => {
  it("sends the birthday message at 10:00 local, once, however many ticks", async () => {
    at("2026-06-01T12:00:00.000Z");
    const t = await newTenant({ brand_name: "Bloom Bakery" });
    const pg = await createProgram(t, { name: "Birthdays", kind: "birthday" });
    await createContact(t, {
      phone: phone(),
      first_name: "Ana",
      birthday: "1990-06-10",
      timezone: "America/New_York",
    });
    await createContact(t, {
      phone: phone(),
      first_name: "Ben",
      birthday: "1990-06-11",
      timezone: "America/New_York",
    });
    await resetScheduler("2026-06-10T13:58:00.000Z");
    await tick("2026-06-10T13:59:00.000Z");
    expect(await messagesOf(pg)).toHaveLength(0);
    await tick("2026-06-10T14:00:00.000Z");
    const rows = await messagesOf(pg);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.body).toMatch(/^Happy birthday, Ana! Everyone at Bloom Bakery/);
    expect(rows[0]?.body).toContain("Reply STOP to opt out.");
    await tick("2026-06-10T14:00:00.000Z");
    await tick("2026-06-10T14:01:00.000Z");
    expect(await messagesOf(pg)).toHaveLength(1);
  });

  it("catches up after missed ticks within validity, and never sends twice", async () => {
    at("2026-06-01T12:00:00.000Z");
    const t = await newTenant();
    const pg = await createProgram(t, { name: "Birthdays", kind: "birthday", validity_hours: 6 });
    await createContact(t, {
      phone: phone(),
      first_name: "Cat",
      birthday: "--06-12",
      timezone: "Europe/Berlin",
    });
    await createContact(t, {
      phone: phone(),
      first_name: "Dan",
      birthday: "--06-12",
      timezone: "America/New_York",
    });
    // Ticks stopped at 07:00Z; Berlin's 10:00 (08:00Z) passed unseen; the next tick comes at 11:30Z.
    await resetScheduler("2026-06-12T07:00:00.000Z");
    await tick("2026-06-12T11:30:00.000Z");
    let rows = await messagesOf(pg);
    expect(rows.map((r) => r.body.split(",")[1]?.trim().split("!")[0])).toEqual(["Cat"]);
    // Overlapping and repeated ticks write nothing new; New York's turn comes at 14:00Z.
    await resetScheduler("2026-06-12T07:00:00.000Z");
    await tick("2026-06-12T11:31:00.000Z");
    await tick("2026-06-12T14:00:00.000Z");
    rows = await messagesOf(pg);
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.occurrence_key)).size).toBe(2);
  });

  it("skips an occurrence whose validity ended while no tick ran", async () => {
    at("2026-06-01T12:00:00.000Z");
    const t = await newTenant();
    const pg = await createProgram(t, { name: "Birthdays", kind: "birthday", validity_hours: 2 });
    await createContact(t, {
      phone: phone(),
      first_name: "Eve",
      birthday: "--06-13",
      timezone: "America/New_York",
    });
    await resetScheduler("2026-06-13T13:00:00.000Z");
    await tick("2026-06-13T16:30:00.000Z");
    expect(await messagesOf(pg)).toHaveLength(0);
  });

  it("celebrates 29 February on 28 February in a common year, and on the 29th in a leap year", async () => {
    at("2027-01-01T12:00:00.000Z");
    const t = await newTenant();
    const pg = await createProgram(t, { name: "Birthdays", kind: "birthday" });
    await createContact(t, { phone: phone(), first_name: "Leap", birthday: "2000-02-29", timezone: "UTC" });
    await resetScheduler("2027-02-28T09:59:00.000Z");
    await tick("2027-02-28T10:00:00.000Z");
    const rows = await messagesOf(pg);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.occurrence_key).toMatch(/:2027$/);
    await resetScheduler("2027-03-01T09:59:00.000Z");
    await tick("2027-03-01T10:00:00.000Z");
    expect(await messagesOf(pg)).toHaveLength(1);
    await resetScheduler("2028-02-28T09:59:00.000Z");
    await tick("2028-02-28T10:00:00.000Z");
    expect(await messagesOf(pg)).toHaveLength(1);
    await resetScheduler("2028-02-29T09:59:00.000Z");
    await tick("2028-02-29T10:00:00.000Z");
    expect(await messagesOf(pg)).toHaveLength(2);
  });

  it("does not send a birthday that was due before the program existed", async () => {
    at("2026-06-15T15:00:00.000Z");
    const t = await newTenant();
    await createContact(t, {
      phone: phone(),
      first_name: "Late",
      birthday: "--06-15",
      timezone: "America/New_York",
    });
    const pg = await createProgram(t, { name: "Birthdays", kind: "birthday" });
    await resetScheduler("2026-06-15T13:00:00.000Z");
    await tick("2026-06-15T15:01:00.000Z");
    expect(await messagesOf(pg)).toHaveLength(0);
  });
});

describe("daylight saving time", () => {
  it("America/New_York: 02:30 on spring-forward day fires at 03:00 EDT; 01:30 on fall-back day fires once", async () => {
    at("2026-03-01T12:00:00.000Z");
    const t = await newTenant();
    const pg = await createProgram(t, {
      name: "Night",
      kind: "custom",
      category: "transactional",
      quiet_hours: "ignore",
      template: "Nightly note for {{ contact.first_name }}",
      trigger: { type: "schedule", cron: "30 2 * * *", timezone: "America/New_York" },
    });
    await createContact(t, { phone: phone(), first_name: "Nia" });
    await resetScheduler("2026-03-08T06:59:00.000Z");
    await tick("2026-03-08T07:00:00.000Z");
    const rows = await messagesOf(pg);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.occurrence_key).toContain("2026-03-08T07:00:00.000Z");

    const fb = await createProgram(t, {
      name: "Fall back",
      kind: "custom",
      category: "transactional",
      quiet_hours: "ignore",
      template: "Fall back note for {{ contact.first_name }}",
      trigger: { type: "schedule", cron: "30 1 * * *", timezone: "America/New_York" },
    });
    // Walk every minute-ish tick through the repeated hour: 05:30Z (01:30 EDT) and 06:30Z (01:30 EST).
    at("2026-10-31T12:00:00.000Z");
    await t.api.patch(`/v1/programs/${fb}`, { status: "paused" });
    await t.api.patch(`/v1/programs/${fb}`, { status: "active" });
    await resetScheduler("2026-11-01T05:00:00.000Z");
    for (const time of ["05:29", "05:30", "05:31", "06:00", "06:29", "06:30", "06:31", "07:00"])
      await tick(`2026-11-01T${time}:00.000Z`);
    const fbRows = await messagesOf(fb);
    expect(fbRows).toHaveLength(1);
    expect(fbRows[0]?.occurrence_key).toContain("2026-11-01T05:30:00.000Z");
  });

  it("Europe/Berlin: a contact-local 02:30 birthday fires at 03:00 CEST in spring and once in autumn", async () => {
    at("2026-03-01T12:00:00.000Z");
    const t = await newTenant();
    const pg = await createProgram(t, {
      name: "Early birthdays",
      kind: "birthday",
      quiet_hours: "ignore",
      trigger: { type: "date", field: "birthday", at: "02:30" },
    });
    await createContact(t, {
      phone: phone(),
      first_name: "Jan",
      birthday: "--03-29",
      timezone: "Europe/Berlin",
    });
    await createContact(t, {
      phone: phone(),
      first_name: "Okt",
      birthday: "--10-25",
      timezone: "Europe/Berlin",
    });
    await resetScheduler("2026-03-29T00:59:00.000Z");
    await tick("2026-03-29T01:00:00.000Z");
    expect((await messagesOf(pg)).map((r) => r.scheduled_at)).toEqual(["2026-03-29T01:00:00.000Z"]);
    await resetScheduler("2026-10-25T00:00:00.000Z");
    for (const time of ["00:30", "00:31", "01:00", "01:30", "01:31"])
      await tick(`2026-10-25T${time}:00.000Z`);
    const rows = await messagesOf(pg);
    expect(rows).toHaveLength(2);
    expect(rows[1]?.scheduled_at).toBe("2026-10-25T00:30:00.000Z");
  });
});

describe("attribute dates, exit_on and quiet hours", () => {
  it("billing: 3 days before the due date at 10:00 local; payment.received exits that contact", async () => {
    at("2026-06-01T12:00:00.000Z");
    const t = await newTenant({ brand_name: "Northwind Power" });
    const pg = await createProgram(t, { name: "Due in 3 days", kind: "billing" });
    const paid = await createContact(t, {
      phone: phone(),
      first_name: "Pat",
      timezone: "America/Chicago",
      attributes: { billing_due_date: "2026-06-20" },
    });
    const unpaid = await createContact(t, {
      phone: phone(),
      first_name: "Uma",
      timezone: "America/Chicago",
      attributes: { billing_due_date: "2026-06-20" },
    });
    await t.api.post("/v1/events", { name: "payment.received", contact: { id: paid } });
    await resetScheduler("2026-06-17T14:59:00.000Z");
    await tick("2026-06-17T15:00:00.000Z");
    const rows = await messagesOf(pg);
    const byContact = Object.fromEntries(rows.map((r) => [r.contact_id, r]));
    expect(byContact[unpaid]?.body).toBe(
      "Hi Uma, a friendly heads-up from Northwind Power: your payment is due on Sat Jun 20. Already paid? Thank you, and please ignore this note.",
    );
    expect(byContact[paid]).toMatchObject({ status: "suppressed", status_reason: "exited" });
  });

  it("defers a birthday due inside quiet hours to 08:00 and releases it then", async () => {
    at("2026-06-01T12:00:00.000Z");
    const t = await newTenant();
    const pg = await createProgram(t, {
      name: "Late birthdays",
      kind: "birthday",
      trigger: { type: "date", field: "birthday", at: "22:00" },
    });
    await createContact(t, {
      phone: phone(),
      first_name: "Quinn",
      birthday: "--06-20",
      timezone: "America/New_York",
    });
    await resetScheduler("2026-06-21T01:59:00.000Z");
    await tick("2026-06-21T02:00:00.000Z");
    const [row] = await messagesOf(pg);
    expect(row?.status).toBe("scheduled");
    expect(row?.scheduled_at).toBe("2026-06-21T12:00:00.000Z");
    await resetScheduler("2026-06-21T11:59:00.000Z");
    await tick("2026-06-21T12:00:00.000Z");
    const [released] = await messagesOf(pg);
    expect(["queued", "sending", "sent", "delivered"]).toContain(released?.status);
  });
});

describe("schedules in each contact's zone", () => {
  it("recurring: Monday 10:00 in each contact's own zone, then the next week", async () => {
    at("2026-06-01T00:00:00.000Z");
    const t = await newTenant({ brand_name: "Fern Yoga" });
    const pg = await createProgram(t, { name: "Weekly", kind: "recurring" });
    const ber = await createContact(t, { phone: phone(), first_name: "Berta", timezone: "Europe/Berlin" });
    const ny = await createContact(t, { phone: phone(), first_name: "Nora", timezone: "America/New_York" });
    await resetScheduler("2026-06-01T07:59:00.000Z");
    await tick("2026-06-01T08:00:00.000Z");
    let rows = await messagesOf(pg);
    expect(rows.map((r) => r.contact_id)).toEqual([ber]);
    expect(rows[0]?.body).toMatch(/^Hi Berta, your Monday check-in from Fern Yoga/);
    await tick("2026-06-01T14:00:00.000Z");
    rows = await messagesOf(pg);
    expect(rows.map((r) => r.contact_id)).toEqual([ber, ny]);
    await tick("2026-06-08T08:00:00.000Z");
    expect(await messagesOf(pg)).toHaveLength(3);
  });
});
