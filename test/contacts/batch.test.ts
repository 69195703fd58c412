import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectAuthMatrix } from "../helpers/auth-matrix";
import { newTenant } from "../helpers/tenant";

interface BatchResult {
  created: number;
  updated: number;
  failed: { index: number; errors: { path: string; message: string }[] }[];
}
interface Contact {
  id: string;
  phone: string;
  first_name: string | null;
  timezone: string | null;
  attributes: Record<string, unknown>;
  subscribed: boolean;
}

const phone = (i: number) => `+1512555${String(1000 + i).padStart(4, "0")}`;

describe("POST /v1/contacts/batch", () => {
  it("stores the good rows and reports each bad one by index", async () => {
    const t = await newTenant();
    await t.api.post("/v1/contacts", { phone: phone(0), first_name: "Old", external_id: "taken" });
    const res = await t.api.post<BatchResult>("/v1/contacts/batch", {
      contacts: [
        { phone: phone(0), first_name: "Updated" },
        { phone: "12", first_name: "Bad phone" },
        { phone: phone(1), colour: "red" },
        { phone: phone(2), email: "not-an-email" },
        { phone: phone(3), external_id: "taken" },
        "not an object",
        { phone: phone(4), attributes: { city: "Austin" } },
        { phone: "(512) 555-1005", country: "US" },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.created).toBe(2);
    expect(res.body.updated).toBe(1);
    expect(res.body.failed).toEqual([
      { index: 1, errors: [{ path: "phone", message: expect.any(String) }] },
      { index: 2, errors: [{ path: "colour", message: "is not a known field" }] },
      { index: 3, errors: [{ path: "email", message: expect.any(String) }] },
      { index: 4, errors: [{ path: "external_id", message: "belongs to another contact" }] },
      { index: 5, errors: [{ path: "(row)", message: expect.any(String) }] },
    ]);
    const list = await t.api.get<{ data: Contact[] }>("/v1/contacts?limit=200");
    expect(list.body.data.map((c) => c.phone).sort()).toEqual([phone(0), phone(4), phone(5)].sort());
    expect(list.body.data.find((c) => c.phone === phone(0))?.first_name).toBe("Updated");
    expect(list.body.data.find((c) => c.phone === phone(4))).toMatchObject({
      attributes: { city: "Austin" },
      timezone: "America/Chicago",
    });
    const consents = await env.DB.prepare("SELECT source FROM consent_records WHERE tenant_id = ?")
      .bind(t.id)
      .all<{ source: string }>();
    // One creation record for the single POST, one per contact the batch created.
    expect(consents.results.map((r) => r.source).sort()).toEqual(["api", "batch", "batch"]);
  });

  it("merges rows with the same phone in order and upserts 1,000 rows at once", async () => {
    const t = await newTenant();
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      phone: phone(i),
      first_name: `N${i}`,
      external_id: `x${i}`,
      attributes: { n: i, tier: i % 2 === 0 ? "even" : "odd" },
    }));
    const first = await t.api.post<BatchResult>("/v1/contacts/batch", { contacts: rows });
    expect(first.body).toEqual({ created: 1000, updated: 0, failed: [] });
    const again = await t.api.post<BatchResult>("/v1/contacts/batch", {
      contacts: [
        { phone: phone(7), attributes: { tier: "gold" } },
        { phone: phone(7), first_name: "Seven", attributes: { n: null } },
        { phone: phone(2000), first_name: "New" },
        { phone: phone(2000), last_name: "Twice" },
      ],
    });
    expect(again.body).toEqual({ created: 1, updated: 3, failed: [] });
    const seven = await t.api.get<{ data: Contact[] }>(`/v1/contacts?phone=${encodeURIComponent(phone(7))}`);
    expect(seven.body.data[0]).toMatchObject({ first_name: "Seven", attributes: { tier: "gold" } });
    const count = await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE tenant_id = ?")
      .bind(t.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(1001);
  });

  it("refuses a body past 1,000 rows or without rows, and unknown top-level fields", async () => {
    const t = await newTenant();
    const tooMany = await t.api.post<{ errors: { path: string }[] }>("/v1/contacts/batch", {
      contacts: Array.from({ length: 1001 }, (_, i) => ({ phone: phone(i) })),
    });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.errors[0]?.path).toBe("contacts");
    expect((await t.api.post("/v1/contacts/batch", { contacts: [] })).status).toBe(422);
    expect((await t.api.post("/v1/contacts/batch", { contacts: "x" })).status).toBe(422);
    expect(
      (await t.api.post("/v1/contacts/batch", { contacts: [{ phone: phone(1) }], mode: "x" })).status,
    ).toBe(400);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE tenant_id = ?")
      .bind(t.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("answers 413 past 1 MB and 415 for a body that is not JSON, storing nothing", async () => {
    const t = await newTenant();
    const big = await t.api.post("/v1/contacts/batch", {
      contacts: Array.from({ length: 1000 }, (_, i) => ({ phone: phone(i), first_name: "x".repeat(1100) })),
    });
    expect(big.status).toBe(413);
    const form = await t.api.post("/v1/contacts/batch", undefined, {
      rawBody: "contacts=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);
    const malformed = await t.api.post("/v1/contacts", undefined, {
      rawBody: '{"phone": "+1512',
      headers: { "content-type": "application/json" },
    });
    expect(malformed.status).toBe(400);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE tenant_id = ?")
      .bind(t.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("passes the auth matrix", async () => {
    await expectAuthMatrix({
      method: "POST",
      path: () => "/v1/contacts/batch",
      scope: "contacts:write",
      body: { contacts: [{ phone: "+15125550142" }] },
    });
  });
});

describe("phone hashes", () => {
  it("the bulk hasher agrees with phoneHash byte for byte", async () => {
    const { hashPhones } = await import("../../src/services/contacts/consent");
    const { serviceContext } = await import("../../src/services/context");
    const { phoneHash } = await import("../../src/lib/crypto");
    const ctx = serviceContext(env, "ten_hash");
    const phones = [phone(1), phone(2), "+442079460958"];
    const bulk = await hashPhones(ctx, phones);
    expect(bulk).toEqual(await Promise.all(phones.map((p) => phoneHash(env.ENCRYPTION_KEY, "ten_hash", p))));
    expect(new Set(bulk).size).toBe(3);
  });
});
