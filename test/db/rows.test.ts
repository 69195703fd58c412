import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { rowFromRaw } from "../../src/db/rows";
import { contacts, events } from "../../src/db/schema";
import { newTenant } from "../helpers/tenant";

describe("rowFromRaw", () => {
  it("maps a raw D1 contacts row to exactly what drizzle reads (JSON, booleans, generated columns)", async () => {
    const t = await newTenant();
    const res = await t.api.post<{ id: string }>("/v1/contacts", {
      phone: "+14155550123",
      first_name: "Ada",
      birthday: "1990-02-28",
      timezone: "America/New_York",
      attributes: { city: "Boston", income: 52000, vip: true },
      marketing_opt_in: false,
    });
    expect(res.status, res.text).toBe(201);
    const drizzle = await createDb(env.DB).select().from(contacts).where(eq(contacts.id, res.body.id)).get();
    const raw = await env.DB.prepare("SELECT * FROM contacts WHERE id = ?").bind(res.body.id).first();
    expect(raw).not.toBeNull();
    expect(rowFromRaw(contacts, raw as Record<string, unknown>)).toEqual(drizzle);
  });

  it("reads a missing column as null and decodes JSON text", () => {
    const row = rowFromRaw(events, {
      id: "ev_1",
      tenant_id: "tn_1",
      name: "order.paid",
      contact_id: "ct_1",
      data: '{"total":12}',
      occurred_at: "2026-12-01T10:00:00.000Z",
      created_at: "2026-12-01T10:00:00.000Z",
    });
    expect(row).toEqual({
      id: "ev_1",
      tenantId: "tn_1",
      name: "order.paid",
      contactId: "ct_1",
      data: { total: 12 },
      occurredAt: "2026-12-01T10:00:00.000Z",
      source: null,
      createdAt: "2026-12-01T10:00:00.000Z",
    });
  });
});
