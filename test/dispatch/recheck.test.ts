import { describe, expect, it } from "vitest";
import { recheck } from "../../src/pipeline/dispatch/recheck";
import type { LoadedBatch, OutboxRow } from "../../src/pipeline/dispatch/types";
import type { CarrierRow } from "../../src/services/carriers/config";

const NOW = Date.parse("2026-06-01T16:00:00.000Z"); // noon in New York: outside quiet hours
const NIGHT = Date.parse("2026-06-02T04:00:00.000Z"); // midnight in New York

const row = (o: Partial<OutboxRow> = {}): OutboxRow => ({
  id: "msg_1",
  tenant_id: "ten_1",
  contact_id: "ct_1",
  program_id: null,
  to: "+12125550100",
  body: "Hi",
  segments: 1,
  category: "transactional",
  status: "queued",
  expires_at: new Date(NOW + 48 * 3_600_000).toISOString(),
  carrier_id: null,
  carrier_pinned: false,
  attempts: 0,
  tried_carrier_ids: [],
  keyword_reply: false,
  phone_hash: "h",
  suppressed_hash: null,
  contact_subscribed: true,
  contact_marketing_opt_in: true,
  program_status: null,
  exited: null,
  quiet_hours: "ignore",
  scheduled_at: new Date(NOW).toISOString(),
  contact_timezone: "America/New_York",
  contact_region: null,
  ...o,
});

const carrier = (id: string, deletedAt: string | null = null) =>
  ({ id, tenantId: "ten_1", deletedAt }) as unknown as CarrierRow;

const batch = (o: Partial<LoadedBatch> = {}): LoadedBatch => ({
  rows: [],
  legacySuppressed: new Set(),
  tenantMps: new Map(),
  tenantQuiet: new Map(),
  activeCarriers: new Map(),
  pinnedRows: new Map(),
  sticky: new Map(),
  listening: new Set(),
  ...o,
});

const final = (r: OutboxRow, b = batch(), at = NOW) => {
  const c = recheck(r, b, at);
  return c.kind === "final" ? `${c.final.to}/${c.final.reason}` : c.kind;
};

describe("recheck: the rules again just before the carrier call, first that speaks decides", () => {
  it("validity first, then the program, then consent", () => {
    const all = {
      expires_at: new Date(NOW).toISOString(),
      program_status: "archived",
      contact_subscribed: false,
    };
    expect(final(row(all))).toBe("expired/validity_ended");
    expect(final(row({ ...all, expires_at: null }))).toBe("canceled/program_archived");
    expect(final(row({ program_status: "paused", exited: 1 }))).toBe("paused");
    expect(final(row({ exited: 1, contact_subscribed: false }))).toBe("suppressed/exited");
    expect(final(row({ contact_subscribed: false }))).toBe("suppressed/opted_out");
    expect(final(row({ contact_subscribed: null, suppressed_hash: 1 }))).toBe("suppressed/opted_out");
    expect(final(row(), batch({ legacySuppressed: new Set(["msg_1"]) }))).toBe("suppressed/opted_out");
  });

  it("marketing needs the contact's opt-in: none (no contact) is no_consent; keyword replies skip consent", () => {
    expect(final(row({ category: "marketing", contact_marketing_opt_in: false }))).toBe(
      "suppressed/no_consent",
    );
    expect(final(row({ category: "marketing", contact_id: null, contact_marketing_opt_in: null }))).toBe(
      "suppressed/no_consent",
    );
    expect(final(row({ contact_id: null, contact_marketing_opt_in: null }))).toBe("go");
    expect(final(row({ category: "marketing", contact_subscribed: false, keyword_reply: true }))).toBe("go");
  });

  it("a deleted pinned carrier fails the message, even inside quiet hours; unpinned ones fail over", () => {
    const pinned = row({ carrier_id: "car_1", carrier_pinned: true, quiet_hours: "enforce" });
    const deleted = batch({ pinnedRows: new Map([["car_1", carrier("car_1", "2026-01-01T00:00:00Z")]]) });
    expect(final(pinned, deleted, NIGHT)).toBe("failed/carrier_deleted");
    expect(final(pinned, batch(), NIGHT)).toBe("failed/carrier_deleted");
    const b = batch({ activeCarriers: new Map([["ten_1", [carrier("car_a"), carrier("car_b")]]]) });
    expect(recheck(row({ tried_carrier_ids: ["car_a"] }), b, NOW)).toMatchObject({
      kind: "go",
      carrier: { id: "car_b" },
    });
    expect(recheck(row(), batch(), NOW)).toEqual({ kind: "go", carrier: null });
  });

  it("quiet hours last: a message that enforces them waits for the first allowed minute", () => {
    const c = recheck(row({ quiet_hours: "enforce" }), batch(), NIGHT);
    expect(c).toEqual({ kind: "quiet", until: Date.parse("2026-06-02T12:00:00.000Z") });
    expect(final(row({ quiet_hours: "enforce", keyword_reply: true }), batch(), NIGHT)).toBe("go");
    expect(final(row({ quiet_hours: "enforce" }))).toBe("go");
  });
});
