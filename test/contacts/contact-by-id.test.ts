import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { phoneHash } from "../../src/lib/crypto";
import { expectAuthMatrix } from "../helpers/auth-matrix";
import { newTenant } from "../helpers/tenant";
import type { Contact } from "./helpers";

describe("GET|PATCH|DELETE /v1/contacts/{id}", () => {
  it("patches with the merge rules and 404s for unknown ids", async () => {
    const t = await newTenant();
    const c = await t.api.post<Contact>("/v1/contacts", {
      phone: "+15125550142",
      attributes: { a: 1, b: 2 },
    });
    const res = await t.api.patch<Contact>(`/v1/contacts/${c.body.id}`, {
      first_name: "Grace",
      attributes: { a: null, c: "x" },
      timezone: "America/Denver",
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      first_name: "Grace",
      attributes: { b: 2, c: "x" },
      timezone: "America/Denver",
    });
    expect((await t.api.patch(`/v1/contacts/${c.body.id}`, { phone: "+15125550199" })).status).toBe(400);
    expect((await t.api.patch(`/v1/contacts/${c.body.id}`, { email: "bad" })).status).toBe(422);
    await t.api.post("/v1/contacts", { phone: "+15125550143", external_id: "taken" });
    expect((await t.api.patch(`/v1/contacts/${c.body.id}`, { external_id: "taken" })).status).toBe(409);
    expect((await t.api.patch("/v1/contacts/ct_missing", { first_name: "x" })).status).toBe(404);
    expect((await t.api.get("/v1/contacts/ct_missing")).status).toBe(404);
    expect((await t.api.del("/v1/contacts/ct_missing")).status).toBe(404);
  });

  it("DELETE erases what other records hold about the contact and cancels what was still to go", async () => {
    const t = await newTenant();
    const c = await t.api.post<Contact>("/v1/contacts", {
      phone: "+15125550177",
      first_name: "Grace",
      attributes: { billing_due_date: "2031-05-01" },
    });
    await t.api.post("/v1/programs", { name: "Billing", kind: "billing" });
    await t.api.post("/v1/carriers", { provider: "sandbox", credentials: {}, from: ["+15005550006"] });
    const sent = await t.api.post<{ id: string }>("/v1/messages", {
      contact_id: c.body.id,
      body: "Hi Grace, your table is ready.",
    });
    const later = await t.api.post<{ id: string }>("/v1/messages", {
      contact_id: c.body.id,
      body: "Hi Grace, see you tomorrow.",
      send_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    await t.api.post("/v1/events", {
      name: "order.placed",
      contact: { id: c.body.id },
      data: { address: "1 Main St" },
    });
    await env.DB.prepare(
      `INSERT INTO inbound_messages (id, tenant_id, contact_id, "from", "to", body, received_at, created_at)
       VALUES ('in_erase', ?1, ?2, '+15125550177', '+15005550006', 'Running late, Grace', ?3, ?3)`,
    )
      .bind(t.id, c.body.id, new Date().toISOString())
      .run();
    await env.DB.prepare(
      `INSERT OR IGNORE INTO sticky_senders (carrier_id, phone, from_number)
       VALUES ((SELECT id FROM carriers WHERE tenant_id = ?1), '+15125550177', '+15005550006')`,
    )
      .bind(t.id)
      .run();
    const count = async (sql: string) =>
      (await env.DB.prepare(sql).bind(t.id).first<{ n: number }>())?.n ?? 0;
    expect(await count("SELECT count(*) AS n FROM program_due WHERE tenant_id = ?")).toBe(1);

    expect((await t.api.del(`/v1/contacts/${c.body.id}`)).status).toBe(204);
    const gone = await t.api.get<{ status: string; status_reason: string; to: string; body: string }>(
      `/v1/messages/${later.body.id}`,
    );
    expect(gone.body).toMatchObject({
      status: "canceled",
      status_reason: "contact_deleted",
      to: "+1512555****",
      body: "",
    });
    const old = await t.api.get<{ id: string; to: string; body: string }>(`/v1/messages/${sent.body.id}`);
    expect(old.body).toMatchObject({ id: sent.body.id, to: "+1512555****", body: "" });
    const everything = JSON.stringify(
      await Promise.all(
        ["messages", "inbound_messages", "events", "program_due", "shopify_orders", "contacts"].map(
          async (table) =>
            (await env.DB.prepare(`SELECT * FROM ${table} WHERE tenant_id = ?`).bind(t.id).all()).results,
        ),
      ),
    );
    const sticky = await env.DB.prepare(
      "SELECT * FROM sticky_senders WHERE carrier_id IN (SELECT id FROM carriers WHERE tenant_id = ?)",
    )
      .bind(t.id)
      .all();
    for (const trace of ["5125550177", "Grace", "1 Main St"]) {
      expect(everything).not.toContain(trace);
      expect(JSON.stringify(sticky.results)).not.toContain(trace);
    }
    expect(await count("SELECT count(*) AS n FROM program_due WHERE tenant_id = ?")).toBe(0);
  });

  it("DELETE erases the contact but an opt-out outlives it", async () => {
    const t = await newTenant();
    const c = await t.api.post<Contact>("/v1/contacts", {
      phone: "+15125550142",
      first_name: "Ada",
      subscribed: false,
    });
    expect((await t.api.del(`/v1/contacts/${c.body.id}`)).status).toBe(204);
    expect((await t.api.get(`/v1/contacts/${c.body.id}`)).status).toBe(404);
    const row = await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE tenant_id = ?")
      .bind(t.id)
      .first<{
        n: number;
      }>();
    expect(row?.n).toBe(0);
    // The suppression is kept by keyed hash, never by the bare number.
    const hash = await phoneHash(env.ENCRYPTION_KEY, t.id, "+15125550142");
    const supp = await env.DB.prepare("SELECT phone_hash FROM suppressions WHERE tenant_id = ?")
      .bind(t.id)
      .all<{ phone_hash: string }>();
    expect(supp.results.map((r) => r.phone_hash)).toEqual([hash]);
    expect(JSON.stringify(supp.results)).not.toContain("5125550142");
    // Re-adding the number does not resubscribe it…
    const again = await t.api.post<Contact>("/v1/contacts", { phone: "+15125550142" });
    expect(again.status).toBe(201);
    expect(again.body.first_name).toBeNull();
    expect(again.body.subscribed).toBe(false);
    // …a new consent record does.
    const consented = await t.api.post<Contact>("/v1/contacts", {
      phone: "+15125550142",
      consent: { source: "keypad" },
    });
    expect(consented.body.subscribed).toBe(true);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM suppressions WHERE tenant_id = ?")
      .bind(t.id)
      .first<{
        n: number;
      }>();
    expect(left?.n).toBe(0);
  });

  it("passes the auth matrix", async () => {
    const path = async ({ owner }: { owner: Awaited<ReturnType<typeof newTenant>> }) => {
      const c = await owner.api.post<Contact>("/v1/contacts", { phone: "+15125550142" });
      return `/v1/contacts/${c.body.id}`;
    };
    await expectAuthMatrix({ method: "GET", path, scope: "contacts:read", ownsResource: true });
    await expectAuthMatrix({
      method: "PATCH",
      path,
      scope: "contacts:write",
      body: { first_name: "X" },
      ownsResource: true,
    });
    await expectAuthMatrix({ method: "DELETE", path, scope: "contacts:write", ownsResource: true });
  });
});
