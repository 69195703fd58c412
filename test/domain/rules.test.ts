import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  chooseCarrier,
  consentDenial,
  DEFAULT_QUIET_TENANT,
  exitHolds,
  isDuplicate,
  LEASE_MS,
  leaseCutoff,
  leaseRanOut,
  movedDeadline,
  nextCarrier,
  occurrenceInValidity,
  occurrenceKey,
  overFrequencyCap,
  programHold,
  quietUntil,
  quietWindowsFor,
  recipientZones,
  validityEnded,
  validitySecondsLeft,
  validUntil,
} from "../../src/domain/rules";

const T = (s: string) => Date.parse(s);

describe("rule 1 — consent", () => {
  const base = { keywordReply: false, category: "transactional", optedOut: false, marketingOptIn: true };
  it.each([
    [{}, null],
    [{ optedOut: true }, "opted_out"],
    [{ optedOut: true, category: "marketing" }, "opted_out"],
    [{ category: "marketing", marketingOptIn: false }, "no_consent"],
    // A marketing message without a contact has no opt-in, at creation and dispatch alike.
    [{ category: "marketing", marketingOptIn: null }, "no_consent"],
    [{ category: "transactional", marketingOptIn: null }, null],
    // Keyword replies (the STOP confirmation) go to opted-out phones.
    [{ keywordReply: true, optedOut: true, category: "marketing", marketingOptIn: null }, null],
  ] as const)("%o → %s", (over, expected) => {
    expect(consentDenial({ ...base, ...over })).toBe(expected);
  });
});

describe("rule 2 — occurrence keys", () => {
  it("keep the spellings stored in existing rows", () => {
    expect(occurrenceKey.birthday("pg_1", "ct_1", 2026)).toBe("pg_1:ct_1:2026");
    expect(occurrenceKey.dueRow("pg_1", "ct_1", "2026-12-01")).toBe("pg_1:ct_1:2026-12-01");
    expect(occurrenceKey.scheduleRun("pg_1", "2026-12-01T10:00:00.000Z", "ct_1")).toBe(
      "pg_1:2026-12-01T10:00:00.000Z:ct_1",
    );
    expect(occurrenceKey.manualRun("pg_1", "run_1", "ct_1")).toBe("pg_1:run_1:ct_1");
    expect(occurrenceKey.event("pg_1", "ct_1", "evt_1")).toBe("pg_1:ct_1:evt_1");
    expect(occurrenceKey.contactCreated("pg_1", "ct_1")).toBe("pg_1:ct_1:contact.created");
    expect(occurrenceKey.keywordReply("SM123")).toBe("inbound-reply:SM123");
  });

  it("never gives two different occurrences of one door the same key", () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.stringMatching(/^pg_[a-z0-9]{1,8}$/), fc.stringMatching(/^ct_[a-z0-9]{1,8}$/)),
        fc.tuple(fc.stringMatching(/^pg_[a-z0-9]{1,8}$/), fc.stringMatching(/^ct_[a-z0-9]{1,8}$/)),
        fc.integer({ min: 1900, max: 2200 }),
        fc.integer({ min: 1900, max: 2200 }),
        ([p1, c1], [p2, c2], y1, y2) => {
          const same = p1 === p2 && c1 === c2 && y1 === y2;
          expect(occurrenceKey.birthday(p1, c1, y1) === occurrenceKey.birthday(p2, c2, y2)).toBe(same);
        },
      ),
    );
  });
});

describe("rule 3 — content dedupe", () => {
  it("lets one program's next occurrence through and stops another department's copy", () => {
    expect(isDuplicate([], "pg_a")).toBe(false);
    expect(isDuplicate(["pg_a"], "pg_a")).toBe(false);
    expect(isDuplicate(["pg_a"], "pg_b")).toBe(true);
    expect(isDuplicate([null], "pg_a")).toBe(true);
    // An API send (no program) dedupes against anything with the same text.
    expect(isDuplicate(["pg_a"], null)).toBe(true);
    expect(isDuplicate([null], null)).toBe(true);
  });
});

describe("rule 4 — frequency cap", () => {
  const f = {
    category: "marketing",
    keywordReply: false,
    counts: { inWindow: 0, inDay: 0 },
    max: 3,
    floridaOrOklahoma: false,
  };
  it("caps marketing at the tenant's max in its window", () => {
    expect(overFrequencyCap({ ...f, counts: { inWindow: 2, inDay: 2 } })).toBe(false);
    expect(overFrequencyCap({ ...f, counts: { inWindow: 3, inDay: 3 } })).toBe(true);
  });
  it("never caps transactional messages or keyword replies", () => {
    expect(overFrequencyCap({ ...f, category: "transactional", counts: { inWindow: 99, inDay: 99 } })).toBe(
      false,
    );
    expect(overFrequencyCap({ ...f, keywordReply: true, counts: { inWindow: 99, inDay: 99 } })).toBe(false);
  });
  it("holds Florida and Oklahoma numbers to 3 a day whatever the tenant allows", () => {
    const generous = { ...f, max: 10, counts: { inWindow: 3, inDay: 3 } };
    expect(overFrequencyCap(generous)).toBe(false);
    expect(overFrequencyCap({ ...generous, floridaOrOklahoma: true })).toBe(true);
  });
});

describe("rule 5 — quiet hours", () => {
  const recipient = {
    quietHours: "enforce",
    keywordReply: false,
    to: "+12125550100",
    contactTimezone: "America/New_York",
    contactRegion: null,
  };
  it("defers 22:00 in New York to 08:00", () => {
    expect(quietUntil(recipient, DEFAULT_QUIET_TENANT, T("2026-01-15T03:00:00Z"))).toBe(
      T("2026-01-15T13:00:00Z"),
    );
  });
  it("lets an allowed minute go at once", () => {
    expect(quietUntil(recipient, DEFAULT_QUIET_TENANT, T("2026-01-15T15:00:00Z"))).toBeNull();
  });
  it("is skipped by transactional sends that ignore it and by keyword replies", () => {
    const night = T("2026-01-15T03:00:00Z");
    expect(quietUntil({ ...recipient, quietHours: "ignore" }, DEFAULT_QUIET_TENANT, night)).toBeNull();
    expect(quietUntil({ ...recipient, keywordReply: true }, DEFAULT_QUIET_TENANT, night)).toBeNull();
  });
  it("fails closed to the default window when the tenant did not load", () => {
    expect(quietUntil(recipient, undefined, T("2026-01-15T03:00:00Z"))).toBe(T("2026-01-15T13:00:00Z"));
  });
  it("starts Florida's window at 20:00", () => {
    expect(quietWindowsFor({ quietHoursStart: "21:00", quietHoursEnd: "08:00" }, "+13055550100")).toEqual([
      { start: "20:00", end: "08:00" },
    ]);
    // 20:30 in Miami: quiet for a Florida number, not for New York.
    const at = T("2026-01-15T01:30:00Z");
    const miami = { ...recipient, to: "+13055550100", contactTimezone: "America/New_York" };
    expect(quietUntil(miami, DEFAULT_QUIET_TENANT, at)).toBe(T("2026-01-15T13:00:00Z"));
    expect(quietUntil(recipient, DEFAULT_QUIET_TENANT, at)).toBeNull();
  });
  it("uses the contact's zone, else the number's, else the tenant's", () => {
    expect(recipientZones("+14155550100", "Europe/Berlin", "America/New_York")).toEqual(["Europe/Berlin"]);
    expect(recipientZones("+14155550100", null, "America/New_York")).toEqual(["America/Los_Angeles"]);
    expect(recipientZones("+9999", null, "America/Chicago")).toEqual(["America/Chicago"]);
  });
});

describe("validity", () => {
  it("counts from the due time and ends at its deadline", () => {
    const due = T("2026-12-01T10:00:00Z");
    const deadline = new Date(validUntil(due, 24)).toISOString();
    expect(deadline).toBe("2026-12-02T10:00:00.000Z");
    expect(validityEnded(deadline, T("2026-12-02T09:59:59Z"))).toBe(false);
    expect(validityEnded(deadline, T("2026-12-02T10:00:00Z"))).toBe(true);
    expect(validityEnded(null, T("2099-01-01T00:00:00Z"))).toBe(false);
  });
  it("tells a late tick which occurrences are still worth sending", () => {
    const due = T("2026-12-01T10:00:00Z");
    expect(occurrenceInValidity(due, 24, T("2026-12-01T09:59:00Z"))).toBe(false); // not due yet
    expect(occurrenceInValidity(due, 24, T("2026-12-02T09:00:00Z"))).toBe(true);
    expect(occurrenceInValidity(due, 24, T("2026-12-02T10:00:00Z"))).toBe(false);
  });
  it("hands carriers the whole seconds left, at least one", () => {
    const now = T("2026-12-01T10:00:00Z");
    expect(validitySecondsLeft("2026-12-01T10:01:00.500Z", now)).toBe(60);
    expect(validitySecondsLeft("2026-12-01T09:00:00.000Z", now)).toBe(1);
    expect(validitySecondsLeft(null, now)).toBeUndefined();
  });
  it("restarts the validity from the minute quiet hours end", () => {
    expect(
      movedDeadline("2026-12-02T10:00:00.000Z", "2026-12-01T10:00:00.000Z", T("2026-12-01T13:00:00Z")),
    ).toBe("2026-12-02T13:00:00.000Z");
    expect(movedDeadline(null, "2026-12-01T10:00:00.000Z", T("2026-12-01T13:00:00Z"))).toBeNull();
  });
});

describe("program state and exit_on", () => {
  it.each([
    ["active", false, null],
    ["active", true, "exited"],
    ["paused", true, "program_paused"],
    ["archived", false, "program_archived"],
    [null, false, null],
  ] as const)("%s, exited %s → %s", (status, exited, expected) => {
    expect(programHold(status, exited)).toBe(expected);
  });
  it("lifts an exit when the date field changes", () => {
    expect(exitHolds("2026-12-01", "2026-12-01")).toBe(true);
    expect(exitHolds("2026-12-01", "2027-01-01")).toBe(false);
    expect(exitHolds(null, null)).toBe(true);
  });
});

describe("rule 7 — carrier choice", () => {
  const a = { id: "car_a", tenantId: "t", deletedAt: null };
  const b = { id: "car_b", tenantId: "t", deletedAt: null };
  it("fails over by priority to the carrier not tried yet, then the one tried longest ago", () => {
    expect(nextCarrier([a, b], [])).toBe(a);
    expect(nextCarrier([a, b], ["car_a"])).toBe(b);
    expect(nextCarrier([a, b], ["car_a", "car_b"])).toBe(a);
    expect(nextCarrier([a, b], ["car_b", "car_a"])).toBe(b);
  });
  it("uses the sandbox when the tenant has no carrier", () => {
    expect(chooseCarrier({ tenantId: "t", pinned: null, active: [], tried: [] })).toEqual({
      kind: "sandbox",
    });
  });
  it("never fails a pinned message over, and fails it when its carrier is gone", () => {
    expect(chooseCarrier({ tenantId: "t", pinned: b, active: [a, b], tried: ["car_b"] })).toEqual({
      kind: "carrier",
      carrier: b,
    });
    for (const pinned of [
      undefined,
      { ...b, deletedAt: "2026-12-01T00:00:00Z" },
      { ...b, tenantId: "other" },
    ]) {
      expect(chooseCarrier({ tenantId: "t", pinned, active: [a], tried: [] })).toEqual({
        kind: "pinned_carrier_deleted",
      });
    }
  });
});

describe("rule 9 — lease", () => {
  it("is rule 9's 2 minutes", () => {
    expect(LEASE_MS).toBe(120_000);
  });
  it("rings again only once a lease ran out more than 2 minutes ago", () => {
    const now = T("2026-12-01T10:05:00Z");
    expect(leaseCutoff(now)).toBe("2026-12-01T10:03:00.000Z");
    expect(leaseRanOut("2026-12-01T10:02:59.000Z", null, now)).toBe(true);
    expect(leaseRanOut("2026-12-01T10:03:01.000Z", null, now)).toBe(false);
    // A row waiting on purpose carries a future lease.
    expect(leaseRanOut("2026-12-01T10:10:00.000Z", "2026-12-01T09:00:00.000Z", now)).toBe(false);
    expect(leaseRanOut(null, "2026-12-01T09:00:00.000Z", now)).toBe(true);
    expect(leaseRanOut(null, null, now)).toBe(false);
  });
});
