import { describe, expect, it } from "vitest";
import type { MessageRow } from "../../src/db/rows";
import { type DecideTenant, type Decision, decideMessages } from "../../src/services/messages/create/decide";
import type { CreateFacts } from "../../src/services/messages/create/gather";
import type { NewMessage } from "../../src/services/messages/create/types";

// Pure: no bindings, no clock — facts and time are given.
const NOW = Date.parse("2026-01-15T17:00:00Z"); // 12:00 in New York
const NIGHT = Date.parse("2026-01-15T03:00:00Z"); // 22:00 in New York
const NY = "+12125550100";
const FL = "+13055550100";

const tenant: DecideTenant = {
  timezone: "America/New_York",
  quietHoursStart: "21:00",
  quietHoursEnd: "08:00",
  optOutFooter: "Reply STOP to opt out.",
  frequencyCapMax: 3,
};

const msg = (over: Partial<NewMessage> = {}): NewMessage => ({
  to: NY,
  contactId: null,
  body: "Your code is 1234",
  category: "transactional",
  quietHours: "ignore",
  validityHours: 24,
  ...over,
});

const facts = (over: Partial<CreateFacts> = {}, n = 1): CreateFacts => ({
  contactById: new Map(),
  contactByPhone: new Map(),
  phoneHashes: new Map([
    [NY, "h_ny"],
    [FL, "h_fl"],
  ]),
  suppressedHashes: new Set(),
  taken: new Map(),
  recent: new Map(),
  capCounts: new Map(),
  bodyHashes: Array.from({ length: n }, () => "b1"),
  ...over,
});

const contact = (
  over: Partial<{ subscribed: boolean; marketingOptIn: boolean; region: string | null }> = {},
) => ({
  id: "ct_1",
  phone: NY,
  timezone: "America/New_York",
  region: null,
  subscribed: true,
  marketingOptIn: true,
  ...over,
});

const ids = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `msg_${i}`, eventId: `mev_${i}` }));

function decide(inputs: NewMessage[], f: CreateFacts = facts({}, inputs.length), now = NOW): Decision[] {
  return decideMessages(
    inputs,
    { ...f, bodyHashes: f.bodyHashes.length ? f.bodyHashes : inputs.map(() => "b1") },
    tenant,
    now,
    ids(inputs.length),
  );
}

const outcome = (d: Decision | undefined) =>
  d?.kind === "new" ? [d.row.status, d.row.status_reason] : d?.kind;

describe("decideMessages (pure)", () => {
  it("queues a transactional message now, with its lease and validity", () => {
    const [d] = decide([msg()]);
    expect(d?.kind).toBe("new");
    if (d?.kind !== "new") return;
    expect(d.row).toMatchObject({
      id: "msg_0",
      event_id_: "mev_0",
      status: "queued",
      phone_hash: "h_ny",
      scheduled_at: new Date(NOW).toISOString(),
      expires_at: new Date(NOW + 24 * 3_600_000).toISOString(),
      // Due now (one lease, rule 9): the sweep rings it once that is 2 minutes past.
      next_attempt_at: new Date(NOW).toISOString(),
    });
  });

  it("rule 1: a marketing message without a contact has no opt-in → no_consent (consentDenial)", () => {
    expect(decide([msg({ category: "marketing" })]).map(outcome)).toEqual([["suppressed", "no_consent"]]);
  });

  it("rule 1: an unsubscribed contact or a kept opt-out hash → opted_out; keyword replies skip it", () => {
    const byContact = facts({ contactByPhone: new Map([[NY, contact({ subscribed: false })]]) });
    expect(decide([msg()], byContact).map(outcome)).toEqual([["suppressed", "opted_out"]]);
    const byHash = facts({ suppressedHashes: new Set(["h_ny"]) });
    expect(decide([msg()], byHash).map(outcome)).toEqual([["suppressed", "opted_out"]]);
    expect(decide([msg({ keywordReply: true })], byHash).map(outcome)).toEqual([["queued", null]]);
  });

  it("rule 2: a taken occurrence key is the answer; a second input with the same key aliases the first", () => {
    const taken = { id: "msg_old" } as MessageRow;
    const out = decide(
      [msg({ occurrenceKey: "k1" }), msg({ occurrenceKey: "k2" }), msg({ occurrenceKey: "k2" })],
      facts({ taken: new Map([["k1", taken]]) }, 3),
    );
    expect(out[0]).toEqual({ kind: "existing", message: taken });
    expect(out[1]?.kind).toBe("new");
    expect(out[2]).toEqual({ kind: "alias", of: 1 });
  });

  it("rule 3: the same body to the same phone → duplicate, unless it is the same program's; the call's own rows count", () => {
    const seen = facts({ recent: new Map([[`${NY}\nb1`, ["pg_a"]]]) });
    expect(decide([msg({ programId: "pg_a" })], seen).map(outcome)).toEqual([["queued", null]]);
    expect(decide([msg({ programId: "pg_b" })], seen).map(outcome)).toEqual([["suppressed", "duplicate"]]);
    expect(decide([msg(), msg()]).map(outcome)).toEqual([
      ["queued", null],
      ["suppressed", "duplicate"],
    ]);
  });

  it("rule 4: over the tenant's cap, or 3 a day in Florida → frequency_cap; marketing only", () => {
    const opted = { contactByPhone: new Map([[FL, { ...contact(), phone: FL }]]) };
    const inDay = facts({ ...opted, capCounts: new Map([[FL, { inWindow: 1, inDay: 3 }]]) });
    expect(decide([msg({ to: FL, category: "marketing" })], inDay).map(outcome)).toEqual([
      ["suppressed", "frequency_cap"],
    ]);
    expect(decide([msg({ to: FL })], inDay).map(outcome)).toEqual([["queued", null]]);
    const three = [1, 2, 3, 4].map((i) => msg({ to: FL, category: "marketing", body: `Sale ${i}` }));
    const out = decide(three, facts({ ...opted, bodyHashes: ["b1", "b2", "b3", "b4"] }));
    expect(out.map(outcome)).toEqual([
      ["queued", null],
      ["queued", null],
      ["queued", null],
      ["suppressed", "frequency_cap"],
    ]);
  });

  it("rule 5: inside quiet hours → scheduled for the first allowed minute, validity from there", () => {
    const [d] = decide([msg({ quietHours: "enforce" })], facts(), NIGHT);
    expect(d?.kind === "new" && d.row).toMatchObject({
      status: "scheduled",
      detail: "quiet hours until 2026-01-15T13:00:00.000Z",
      scheduled_at: "2026-01-15T13:00:00.000Z",
      expires_at: "2026-01-16T13:00:00.000Z",
      next_attempt_at: null,
    });
  });

  it("validity over before creation → expired; a future send_at → scheduled", () => {
    const past = new Date(NOW - 25 * 3_600_000).toISOString();
    expect(decide([msg({ sendAt: past })]).map(outcome)).toEqual([["expired", null]]);
    const later = new Date(NOW + 3_600_000).toISOString();
    const [d] = decide([msg({ sendAt: later })]);
    expect(d?.kind === "new" && [d.row.status, d.row.detail]).toEqual(["scheduled", "send_at"]);
  });

  it("adds the footer to marketing; a body past 1,600 characters fails as template_error before any rule", () => {
    const ok = facts({ contactByPhone: new Map([[NY, contact()]]) });
    const [d] = decide([msg({ category: "marketing", body: "Sale today" })], ok);
    expect(d?.kind === "new" && d.row.body).toBe("Sale today Reply STOP to opt out.");
    const [long] = decide([msg({ body: "a".repeat(1_601) })], facts({ suppressedHashes: new Set(["h_ny"]) }));
    expect(long?.kind === "new" && long.row).toMatchObject({
      status: "failed",
      status_reason: "template_error",
      body: "",
      expires_at: null,
    });
  });

  it("a preset suppression wins over the rules", () => {
    expect(decide([msg({ presetSuppression: "missing_data" })]).map(outcome)).toEqual([
      ["suppressed", "missing_data"],
    ]);
  });
});
