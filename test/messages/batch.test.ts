import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { MessageView } from "../../src/routes/messages/schema";
import { serviceContext } from "../../src/services/context";
import { sendApiMessages } from "../../src/services/messages/send";
import { BASE } from "../helpers/api";
import { faultyEnv, fetchWith } from "../helpers/faults";
import { newTenant, type TestTenant } from "../helpers/tenant";

type Problem = { status: number; errors?: { path: string; message: string }[] };
interface BatchResult {
  accepted: { index: number; id: string; status: string; status_reason: string | null }[];
  failed: { index: number; errors: { path: string; message: string }[] }[];
}

let n = 0;
/** A fresh +1 415 number per call, so no test sees another's dedupe or cap. */
const phone = () => `+1415556${String(1000 + n++).padStart(4, "0")}`;
const KEY = (k: string) => ({ headers: { "Idempotency-Key": k } });

async function contact(t: TestTenant, body: Record<string, unknown>): Promise<string> {
  const r = await t.api.post<{ id: string }>("/v1/contacts", body);
  expect([200, 201], r.text).toContain(r.status);
  return r.body.id;
}

async function messageCount(tenantId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE tenant_id = ?")
    .bind(tenantId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("POST /v1/messages/batch", () => {
  it("accepts every row (202), in input order, each readable as a message", async () => {
    const t = await newTenant({ brand_name: "Acme" });
    const p = phone();
    const id = await contact(t, { phone: p, first_name: "Ada" });
    const r = await t.api.post<BatchResult>("/v1/messages/batch", {
      messages: [
        { to: phone(), body: "Your code is 482913" },
        {
          contact_id: id,
          template: "{{ tenant.brand_name }}: hi {{ contact.first_name }}, {{ order }}",
          data: { order: "#1" },
        },
        { to: phone(), body: "Later", send_at: "2030-01-01T00:00:00Z" },
      ],
    });
    expect(r.status, r.text).toBe(202);
    expect(r.body.failed).toEqual([]);
    expect(r.body.accepted.map((a) => [a.index, a.status, a.status_reason])).toEqual([
      [0, "queued", null],
      [1, "queued", null],
      [2, "scheduled", null],
    ]);
    const second = await t.api.get<MessageView>(`/v1/messages/${r.body.accepted[1]?.id}`);
    expect(second.body).toMatchObject({ contact_id: id, to: p, body: "Acme: hi Ada, #1" });
  });

  it("a bad row in the middle goes to failed[] by index with the field named; the rest are stored", async () => {
    const t = await newTenant();
    const r = await t.api.post<BatchResult>("/v1/messages/batch", {
      messages: [
        { to: phone(), body: "A" },
        { to: "12345", body: "B" },
        { to: phone(), body: "C", priority: 1 },
        { contact_id: "ct_nope", body: "D" },
        { to: phone(), template: "Order {{ order_name }} ships {{ ship_date }}", data: { order_name: "#1" } },
        "not an object",
        { to: phone(), validity_hours: 99, body: "F" },
        { body: "no recipient" },
        { to: phone(), body: "G" },
      ],
    });
    expect(r.status, r.text).toBe(202);
    expect(r.body.accepted.map((a) => a.index)).toEqual([0, 8]);
    const failed = Object.fromEntries(r.body.failed.map((f) => [f.index, f.errors]));
    expect(r.body.failed.map((f) => f.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(failed[1]?.map((e) => e.path)).toEqual(["to"]);
    expect(failed[2]).toEqual([{ path: "priority", message: "is not a known field" }]);
    expect(failed[3]).toEqual([{ path: "contact_id", message: "does not exist" }]);
    expect(failed[4]?.map((e) => e.path)).toEqual(["template"]);
    expect(failed[4]?.[0]?.message).toContain("ship_date");
    expect(failed[5]?.map((e) => e.path)).toEqual(["(row)"]);
    expect(failed[6]?.map((e) => e.path)).toEqual(["validity_hours"]);
    expect(failed[7]?.map((e) => e.path)).toEqual(["to"]);
    expect(await messageCount(t.id)).toBe(2);
  });

  it("more than 1,000 rows → 422 naming `messages`; a body without a messages array → 422; unknown top-level field → 400", async () => {
    const t = await newTenant();
    const rows = Array.from({ length: 1001 }, () => ({ to: "+14155550000", body: "x" }));
    const big = await t.api.post<Problem>("/v1/messages/batch", { messages: rows });
    expect(big.status).toBe(422);
    expect(big.body.errors?.map((e) => e.path)).toEqual(["messages"]);
    for (const body of [{}, { messages: "x" }, { messages: [] }, []]) {
      const bad = await t.api.post<Problem>("/v1/messages/batch", body);
      expect(bad.status, JSON.stringify(body)).toBe(422);
    }
    const extra = await t.api.post<Problem>("/v1/messages/batch", {
      messages: [{ to: phone(), body: "x" }],
      x: 1,
    });
    expect(extra.status).toBe(400);
    expect(extra.body.errors?.map((e) => e.path)).toEqual(["x"]);
    expect(await messageCount(t.id)).toBe(0);
  });

  it("the same rows one by one and in one batch give the same statuses, reasons and errors", async () => {
    /** Two tenants in the same state: one gets the rows one by one, the other in one batch. */
    const setUp = async () => {
      const t = await newTenant();
      const patched = await t.api.patch("/v1/tenant", {
        frequency_cap: { max_messages: 2, window_hours: 24 },
      });
      expect(patched.status, patched.text).toBe(200);
      return t;
    };
    const [single, batch] = [await setUp(), await setUp()];
    const [dup, fan, out, night, stranger] = [phone(), phone(), phone(), phone(), phone()];
    for (const t of [single, batch]) {
      await contact(t, { phone: fan, marketing_opt_in: true });
      await contact(t, { phone: out, subscribed: false });
      await contact(t, { phone: night, timezone: "America/Los_Angeles" });
    }
    const rows: Record<string, unknown>[] = [
      { to: dup, body: "Your order shipped" },
      { to: dup, body: "Your order shipped" }, // content dedupe → duplicate
      { to: fan, body: "Sale 1", category: "marketing", quiet_hours: "ignore" },
      { to: fan, body: "Sale 2", category: "marketing", quiet_hours: "ignore" },
      { to: fan, body: "Sale 3", category: "marketing", quiet_hours: "ignore" }, // cap of 2 → frequency_cap
      { to: out, body: "Hi" }, // unsubscribed → opted_out
      // 22:00 in Los Angeles: marketing enforces quiet hours → scheduled for 08:00
      { to: night, body: "Weekend sale", category: "marketing", send_at: "2030-01-15T06:00:00Z" },
      { to: stranger, body: "20% off", category: "marketing", quiet_hours: "ignore" }, // no contact → no_consent
      { to: "12345", body: "bad" },
      { to: stranger, template: "Hi {{ missing }}" },
      { contact_id: "ct_nope", body: "x" },
      { to: dup, body: "Another text", carrier_id: "car_nope" },
    ];

    const oneByOne: unknown[] = [];
    for (const row of rows) {
      const r = await single.api.post<{
        status: string;
        status_reason: string | null;
        scheduled_at: string | null;
        errors?: unknown;
      }>("/v1/messages", row);
      oneByOne.push(
        r.status === 202
          ? { status: r.body.status, status_reason: r.body.status_reason, scheduled_at: r.body.scheduled_at }
          : { status: r.status, errors: r.body.errors },
      );
    }

    const b = await batch.api.post<BatchResult>("/v1/messages/batch", { messages: rows });
    expect(b.status, b.text).toBe(202);
    const inBatch: unknown[] = [];
    for (const [index] of rows.entries()) {
      const ok = b.body.accepted.find((a) => a.index === index);
      const bad = b.body.failed.find((f) => f.index === index);
      if (ok) {
        const m = await batch.api.get<MessageView>(`/v1/messages/${ok.id}`);
        expect([m.body.status, m.body.status_reason]).toEqual([ok.status, ok.status_reason]);
        inBatch.push({
          status: ok.status,
          status_reason: ok.status_reason,
          scheduled_at: m.body.scheduled_at,
        });
      } else inBatch.push({ status: 422, errors: bad?.errors });
    }
    const summary = (xs: unknown[]) =>
      xs.map((x) => {
        const { scheduled_at, ...rest } = x as { scheduled_at?: string | null; status: unknown };
        // "Now" differs between the two runs by milliseconds; only a deferred time is compared.
        return rest.status === "scheduled" ? { ...rest, scheduled_at } : rest;
      });
    expect(summary(inBatch)).toEqual(summary(oneByOne));
    expect(
      summary(oneByOne).map(
        (x) => (x as { status_reason?: string }).status_reason ?? (x as { status: unknown }).status,
      ),
    ).toEqual([
      "queued",
      "duplicate",
      "queued",
      "queued",
      "frequency_cap",
      "opted_out",
      "scheduled",
      "no_consent",
      422,
      422,
      422,
      422,
    ]);
    expect((oneByOne[6] as { status: string; scheduled_at: string }).scheduled_at).toBe(
      "2030-01-15T16:00:00.000Z",
    );
  });

  it("one Idempotency-Key covers the batch: a replay returns the same body and creates nothing", async () => {
    const t = await newTenant();
    const body = {
      messages: [
        { to: phone(), body: "A" },
        { to: "12345", body: "B" },
        { to: phone(), body: "C" },
      ],
    };
    const first = await t.api.post<BatchResult>("/v1/messages/batch", body, KEY("batch-1"));
    expect(first.status).toBe(202);
    expect(await messageCount(t.id)).toBe(2);
    const again = await t.api.post<BatchResult>("/v1/messages/batch", body, KEY("batch-1"));
    expect(again.status).toBe(202);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.text).toBe(first.text);
    expect(await messageCount(t.id)).toBe(2);
    const other = await t.api.post<Problem>(
      "/v1/messages/batch",
      { messages: [{ to: phone(), body: "Z" }] },
      KEY("batch-1"),
    );
    expect(other.status).toBe(422);
  });
});

describe("sendApiMessages: D1 round trips", () => {
  /** D1 calls (one per statement run or batch) of one `sendApiMessages` call of `rows` rows. */
  async function roundTrips(rowCount: number) {
    const t = await newTenant();
    const people = Array.from({ length: rowCount }, () => phone());
    // Half the rows name a contact by id, with a template; the other half send to a phone.
    const seeded = await t.api.post<{ created: number }>("/v1/contacts/batch", {
      contacts: people.slice(0, rowCount / 2).map((p, i) => ({ phone: p, first_name: `N${i}` })),
    });
    expect(seeded.body.created).toBe(rowCount / 2);
    const { results } = await env.DB.prepare("SELECT id, phone FROM contacts WHERE tenant_id = ?")
      .bind(t.id)
      .all<{ id: string; phone: string }>();
    const idOf = new Map(results.map((r) => [r.phone, r.id]));
    const rows = people.map((p, i) =>
      idOf.has(p)
        ? {
            contact_id: idOf.get(p),
            template: "Hi {{ contact.first_name }}, order {{ o }}",
            data: { o: `#${i}` },
          }
        : { to: p, body: `Your code is ${i}` },
    );
    const faulty = faultyEnv(env, { capture: true });
    const outcomes = await sendApiMessages(serviceContext(faulty.env, t.id), rows);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    return { db: faulty.calls.DB, queue: faulty.calls.DISPATCH_QUEUE, enqueued: faulty.captured.length };
  }

  it("1,000 rows take a handful of D1 round trips that grow per chunk of 100, never per row", async () => {
    const small = await roundTrips(100);
    const large = await roundTrips(1000);
    console.log(
      `D1 round trips: 100 rows → ${small.db}, 1,000 rows → ${large.db}; queue sends ${large.queue}`,
    );
    // tenant + contacts/carriers + (gather + write + read-back) per chunk of 100.
    expect(large.db).toBeLessThanOrEqual(3 + 3 * 10);
    expect(large.db - small.db).toBeLessThanOrEqual(3 * 9);
    expect(large.enqueued).toBe(1000);
    expect(large.queue).toBeLessThanOrEqual(10);
  });

  it("the whole request (auth, idempotency, 1,000 rows) stays a handful of round trips", async () => {
    const t = await newTenant();
    const rows = Array.from({ length: 1000 }, (_, i) => ({ to: phone(), body: `Your code is ${i}` }));
    const faulty = faultyEnv(env, { capture: true });
    const res = await fetchWith(
      faulty.env,
      new Request(`${BASE}/v1/messages/batch`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${t.key}`,
          "content-type": "application/json",
          "Idempotency-Key": "big-batch",
        },
        body: JSON.stringify({ messages: rows }),
      }),
    );
    expect(res.status).toBe(202);
    const body = (await res.json()) as BatchResult;
    expect(body.accepted).toHaveLength(1000);
    console.log(`POST /v1/messages/batch, 1,000 rows: ${faulty.calls.DB} D1 round trips`);
    expect(faulty.calls.DB).toBeLessThanOrEqual(33 + 8);
  });
});
