import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MESSAGE_FIELDS, messageJsonSql, messageView } from "../../src/services/messages/payload";
import { insertOutboxMessage } from "../helpers/outbox";
import { newTenant } from "../helpers/tenant";

describe("the Message object: one field list for the API and the webhooks", () => {
  it("messageView (TS) and messageJsonSql (SQL) agree, key by key and in order, for a real row from D1", async () => {
    const t = await newTenant();
    // Every field non-default, so a swapped column would show.
    const row = await insertOutboxMessage(t.id, {
      contactId: "ct_payload",
      programId: "pg_payload",
      from: "+15555550199",
      body: "Ça va? Reply STOP to opt out.",
      encoding: "UCS-2",
      segments: 2,
      status: "failed",
      statusReason: "carrier_failed",
      scheduledAt: "2026-12-01T10:00:00.000Z",
      createdAt: "2026-12-01T09:59:00.000Z",
      updatedAt: "2026-12-01T10:00:03.000Z",
      sentAt: "2026-12-01T10:00:01.000Z",
      deliveredAt: "2026-12-01T10:00:02.000Z",
      carrierId: "car_payload",
      carrierMessageId: "SM_payload",
      errorCode: "30003",
      errorMessage: "Unreachable destination handset",
      attempts: 3,
    });
    const sql = await env.DB.prepare(`SELECT ${messageJsonSql("m")} AS j FROM messages m WHERE m.id = ?`)
      .bind(row.id)
      .first<{ j: string }>();
    const fromSql = JSON.parse(sql?.j ?? "null") as Record<string, unknown>;
    const view = messageView(row);
    expect(fromSql).toEqual(view);
    expect(JSON.stringify(fromSql)).toBe(JSON.stringify(view));
    expect(Object.keys(view)).toEqual(MESSAGE_FIELDS.map((f) => f.key));
    expect(new Set(Object.values(view)).size).toBe(Object.keys(view).length);
  });

  it("a replaced key takes the caller's expression in its place", async () => {
    const t = await newTenant();
    const row = await insertOutboxMessage(t.id, { status: "delivered" });
    const sql = await env.DB.prepare(
      `SELECT ${messageJsonSql("m", { status: "?" })} AS j FROM messages m WHERE m.id = ?`,
    )
      .bind("sent", row.id)
      .first<{ j: string }>();
    expect(JSON.parse(sql?.j ?? "null")).toEqual({ ...messageView(row), status: "sent" });
  });
});
