import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { serviceContext } from "../../src/services/context";
import { ingestEventBatch } from "../../src/services/events/batch";
import { faultyEnv } from "../helpers/faults";
import { newTenant, type TestTenant } from "../helpers/tenant";

interface Outcome {
  program_id: string;
  message_id: string | null;
  outcome: string;
}
interface EventResult {
  id: string;
  contact_id: string;
  programs: Outcome[];
}
interface BatchResult {
  accepted: (EventResult & { index: number })[];
  failed: { index: number; errors: { path: string; message: string }[] }[];
}
type Problem = { status: number; errors?: { path: string; message: string }[] };

const NOON_NY = new Date("2026-06-10T16:00:00.000Z");
let n = 0;
const phone = () => `+1415557${String(1000 + n++).padStart(4, "0")}`;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOON_NY);
});
afterEach(() => {
  vi.useRealTimers();
});

async function program(t: TestTenant, body: Record<string, unknown>): Promise<string> {
  const res = await t.api.post<{ id: string }>("/v1/programs", body);
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

async function count(table: "messages" | "events" | "contacts", tenantId: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`)
    .bind(tenantId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

const delay = (p: string, order: string) => ({
  name: "order.delayed",
  contact: { phone: p },
  data: { order_name: order, estimated_delivery_at: "2026-12-03" },
});

describe("POST /v1/events/batch", () => {
  it("ingests every row as POST /v1/events would (new phones become contacts, programs run)", async () => {
    const t = await newTenant({ brand_name: "Acme" });
    const pg = await program(t, { name: "Delays", kind: "delivery_delay" });
    const [a, b] = [phone(), phone()];
    const r = await t.api.post<BatchResult>("/v1/events/batch", {
      events: [delay(a, "#1"), delay(b, "#2"), delay(a, "#3")],
    });
    expect(r.status, r.text).toBe(202);
    expect(r.body.failed).toEqual([]);
    expect(r.body.accepted.map((x) => x.index)).toEqual([0, 1, 2]);
    for (const x of r.body.accepted) {
      expect(x.id).toMatch(/^evt_/);
      expect(x.programs).toHaveLength(1);
      expect(x.programs[0]).toMatchObject({ program_id: pg, outcome: "queued" });
    }
    // The same phone twice is one contact.
    expect(r.body.accepted[0]?.contact_id).toBe(r.body.accepted[2]?.contact_id);
    expect(await count("contacts", t.id)).toBe(2);
    expect(await count("messages", t.id)).toBe(3);
  });

  it("a bad row goes to failed[] by index with the field named; the rest are stored", async () => {
    const t = await newTenant();
    await program(t, { name: "Delays", kind: "delivery_delay" });
    const r = await t.api.post<BatchResult>("/v1/events/batch", {
      events: [
        delay(phone(), "#1"),
        { name: "order.delayed", contact: { id: "ct_nope" } },
        { ...delay(phone(), "#2"), extra: 1 },
        { name: "order.delayed", contact: { phone: "12" } },
        { name: "order.delayed", contact: { external_id: "nope" } },
        { contact: { phone: phone() } },
        delay(phone(), "#3"),
      ],
    });
    expect(r.status, r.text).toBe(202);
    expect(r.body.accepted.map((x) => x.index)).toEqual([0, 6]);
    const paths = Object.fromEntries(r.body.failed.map((f) => [f.index, f.errors.map((e) => e.path)]));
    expect(paths).toEqual({
      1: ["contact.id"],
      2: ["extra"],
      3: ["contact.phone"],
      4: ["contact.external_id"],
      5: ["name"],
    });
    expect(await count("events", t.id)).toBe(2);
  });

  it("an id reused for another contact fails that row only (the single route's 409)", async () => {
    const t = await newTenant();
    const r = await t.api.post<BatchResult>("/v1/events/batch", {
      events: [
        { id: "e-1", name: "visit", contact: { phone: phone() } },
        { id: "e-1", name: "visit", contact: { phone: phone() } },
        { id: "e-2", name: "visit", contact: { phone: phone() } },
      ],
    });
    expect(r.status).toBe(202);
    expect(r.body.accepted.map((x) => x.index)).toEqual([0, 2]);
    expect(r.body.failed.map((f) => [f.index, f.errors[0]?.path])).toEqual([[1, "id"]]);
  });

  it("more than 1,000 rows → 422 naming `events`; no events array → 422", async () => {
    const t = await newTenant();
    const rows = Array.from({ length: 1001 }, () => ({ name: "x", contact: { phone: "+14155550000" } }));
    const big = await t.api.post<Problem>("/v1/events/batch", { events: rows });
    expect(big.status).toBe(422);
    expect(big.body.errors?.map((e) => e.path)).toEqual(["events"]);
    expect((await t.api.post("/v1/events/batch", {})).status).toBe(422);
    expect((await t.api.post("/v1/events/batch", { events: [] })).status).toBe(422);
    expect(await count("events", t.id)).toBe(0);
  });

  it("the same rows one by one and in one batch give the same outcomes, in order (exit_on included)", async () => {
    const setUp = async () => {
      const t = await newTenant({ brand_name: "Acme" });
      const pg = await program(t, {
        name: "Invoice reminder",
        kind: "custom",
        category: "transactional",
        template: "Hi {{ contact.first_name | default: 'there' }}, invoice {{ event.invoice }} is open.",
        trigger: { type: "event", event: "invoice.sent", delay_minutes: 60 },
        exit_on: ["payment.received"],
      });
      await program(t, { name: "Delays", kind: "delivery_delay" });
      await t.api.post("/v1/contacts", { phone: known, first_name: "Cy", external_id: "cus_1" });
      return { t, pg };
    };
    const known = phone();
    const fresh = phone();
    const rows = [
      { name: "invoice.sent", contact: { external_id: "cus_1" }, data: { invoice: "INV-7" } },
      { name: "payment.received", contact: { phone: known } },
      { name: "invoice.sent", contact: { external_id: "cus_1" }, data: { invoice: "INV-8" } },
      { name: "order.delayed", contact: { phone: fresh } }, // no data → missing_data
      delay(fresh, "#9"),
      { name: "nothing.listens", contact: { phone: fresh } },
      { name: "order.delayed", contact: { id: "ct_nope" } },
    ];
    const shape = (programs: Outcome[], pg: string) =>
      programs.map((p) => ({ program: p.program_id === pg ? "invoice" : "other", outcome: p.outcome }));

    const single = await setUp();
    const oneByOne: unknown[] = [];
    for (const row of rows) {
      const r = await single.t.api.post<EventResult & Problem>("/v1/events", row);
      oneByOne.push(r.status === 202 ? shape(r.body.programs, single.pg) : r.body.errors);
    }
    const batch = await setUp();
    const b = await batch.t.api.post<BatchResult>("/v1/events/batch", { events: rows });
    expect(b.status, b.text).toBe(202);
    const inBatch = rows.map((_, i) => {
      const ok = b.body.accepted.find((x) => x.index === i);
      return ok ? shape(ok.programs, batch.pg) : b.body.failed.find((f) => f.index === i)?.errors;
    });
    expect(inBatch).toEqual(oneByOne);
    expect(oneByOne.slice(0, 4)).toEqual([
      [{ program: "invoice", outcome: "scheduled" }],
      [],
      [{ program: "invoice", outcome: "exited" }],
      [{ program: "other", outcome: "suppressed" }],
    ]);
    const statuses = async (tenantId: string) =>
      (
        await env.DB.prepare(
          "SELECT status, status_reason FROM messages WHERE tenant_id = ? AND program_id IS NOT NULL ORDER BY status, status_reason",
        )
          .bind(tenantId)
          .all()
      ).results;
    expect(await statuses(batch.t.id)).toEqual(await statuses(single.t.id));
  });

  it("exit_on in a batch cancels every contact's pending messages and holds their later occurrences", async () => {
    const t = await newTenant();
    await program(t, {
      name: "Invoice reminder",
      kind: "custom",
      category: "transactional",
      template: "Invoice {{ event.invoice }} is open.",
      trigger: { type: "event", event: "invoice.sent", delay_minutes: 60 },
      exit_on: ["payment.received"],
    });
    const people = [phone(), phone(), phone()];
    const send = (name: string) =>
      t.api.post<BatchResult>("/v1/events/batch", {
        events: people.map((p) => ({ name, contact: { phone: p }, data: { invoice: "INV-1" } })),
      });
    const first = await send("invoice.sent");
    expect(first.body.accepted.map((a) => a.programs[0]?.outcome)).toEqual([
      "scheduled",
      "scheduled",
      "scheduled",
    ]);
    await send("payment.received");
    const { results } = await env.DB.prepare("SELECT status, status_reason FROM messages WHERE tenant_id = ?")
      .bind(t.id)
      .all<{ status: string; status_reason: string | null }>();
    expect(results).toEqual(people.map(() => ({ status: "canceled", status_reason: "exited" })));
    const later = await send("invoice.sent");
    expect(later.body.accepted.map((a) => a.programs[0]?.outcome)).toEqual(["exited", "exited", "exited"]);
  });

  it("one Idempotency-Key covers the batch; rows without an id get `<key>:<index>` as identity", async () => {
    const t = await newTenant();
    await program(t, { name: "Delays", kind: "delivery_delay" });
    const body = { events: [delay(phone(), "#1"), delay(phone(), "#2")] };
    const headers = { headers: { "Idempotency-Key": "events-1" } };
    const first = await t.api.post<BatchResult>("/v1/events/batch", body, headers);
    expect(first.status).toBe(202);
    const replay = await t.api.post<BatchResult>("/v1/events/batch", body, headers);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.text).toBe(first.text);
    // The stored answer gone (as after a 5xx released the key): the same batch is the same events.
    await env.DB.prepare("DELETE FROM idempotency_keys WHERE tenant_id = ?").bind(t.id).run();
    const retried = await t.api.post<BatchResult>("/v1/events/batch", body, headers);
    expect(retried.status).toBe(202);
    expect(retried.headers.get("Idempotent-Replayed")).toBeNull();
    expect(retried.body.accepted.map((x) => x.id)).toEqual(first.body.accepted.map((x) => x.id));
    expect(retried.body.accepted.map((x) => x.programs[0]?.message_id)).toEqual(
      first.body.accepted.map((x) => x.programs[0]?.message_id),
    );
    expect(await count("events", t.id)).toBe(2);
    expect(await count("messages", t.id)).toBe(2);
    // Another key is another batch: new events.
    const other = await t.api.post<BatchResult>("/v1/events/batch", body, {
      headers: { "Idempotency-Key": "events-2" },
    });
    expect(other.body.accepted[0]?.id).not.toBe(first.body.accepted[0]?.id);
  });
});

describe("ingestEventBatch: D1 round trips", () => {
  /**
   * D1 calls of one batch of `rowCount` delivery delays for new phones (contacts created on the
   * way), then of one batch of as many `order.delivered` events, on which the program exits
   * (cancelling every message the first batch queued).
   */
  async function roundTrips(rowCount: number) {
    const t = await newTenant();
    await program(t, { name: "Delays", kind: "delivery_delay", exit_on: ["order.delivered"] });
    const phones = Array.from({ length: rowCount }, () => phone());
    const rows = phones.map((p, index) => ({ index, input: delay(p, `#${index}`) }));
    const faulty = faultyEnv(env, { capture: true });
    const ctx = serviceContext(faulty.env, t.id);
    const result = await ingestEventBatch(ctx, rows, "k");
    expect(result.failed).toEqual([]);
    expect(result.accepted.every((a) => a.event.programs[0]?.outcome === "queued")).toBe(true);
    const ingest = faulty.calls.DB;
    const delivered = phones.map((p, index) => ({
      index,
      input: { name: "order.delivered", contact: { phone: p } },
    }));
    const exits = await ingestEventBatch(ctx, delivered, "k2");
    expect(exits.failed).toEqual([]);
    const { results } = await env.DB.prepare(
      "SELECT status, count(*) AS n FROM messages WHERE tenant_id = ? GROUP BY status",
    )
      .bind(t.id)
      .all<{ status: string; n: number }>();
    expect(results).toEqual([{ status: "canceled", n: rowCount }]);
    return { ingest, exits: faulty.calls.DB - ingest };
  }

  it("1,000 rows take a number of D1 round trips that grows per chunk of 100, not per row", async () => {
    const small = await roundTrips(100);
    const large = await roundTrips(1000);
    console.log(
      `events batch D1 round trips: 100 rows → ${small.ingest} (+${small.exits} for 100 exits), 1,000 rows → ${large.ingest} (+${large.exits} for 1,000 exits)`,
    );
    expect(large.ingest - small.ingest).toBeLessThanOrEqual(9 * 8);
    expect(large.ingest).toBeLessThanOrEqual(100);
    expect(large.exits).toBeLessThanOrEqual(30);
  });
});
