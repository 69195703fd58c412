import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DELIVERY_LOG_RETENTION_DAYS } from "../../src/pipeline/retention";
import { newTenant } from "../helpers/tenant";
import { resetScheduler, tick } from "./helpers";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

const NOW = "2026-09-01T12:00:00.000Z";
const daysAgo = (d: number) => new Date(Date.parse(NOW) - d * 86_400_000).toISOString();

describe("delivery logs", () => {
  it(`forget finished entries after ${DELIVERY_LOG_RETENTION_DAYS} days on a tick, and keep what is still in progress`, async () => {
    const t = await newTenant();
    const old = daysAgo(DELIVERY_LOG_RETENTION_DAYS + 1);
    const recent = daysAgo(DELIVERY_LOG_RETENTION_DAYS - 1);
    const hooks: [string, string, string][] = [
      ["hd_old_done", "processed", old],
      ["hd_old_waiting", "received", old],
      ["hd_recent_done", "processed", recent],
    ];
    for (const [id, status, at] of hooks)
      await env.DB.prepare(
        `INSERT INTO hook_deliveries (id, tenant_id, integration_id, dedupe_key, topic, raw_body, status, received_at)
         VALUES (?, ?, 'int_x', ?, 'orders/create', '{"phone":"+15125550100"}', ?, ?)`,
      )
        .bind(`${id}_${t.id}`, t.id, `${id}_${t.id}`, status, at)
        .run();
    const webhooks: [string, string, string][] = [
      ["whd_old_done", "delivered", old],
      ["whd_old_failed", "failed", old],
      ["whd_old_pending", "pending", old],
      ["whd_recent_done", "delivered", recent],
    ];
    for (const [id, status, at] of webhooks)
      await env.DB.prepare(
        `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_type, payload, status, attempts, created_at, updated_at)
         VALUES (?, ?, 'whe_x', 'message.sent', '{"to":"+15125550100"}', ?, 1, ?, ?)`,
      )
        .bind(`${id}_${t.id}`, t.id, status, at, at)
        .run();

    await resetScheduler(daysAgo(0.001));
    await tick(NOW);

    const left = async (table: string) =>
      (
        await env.DB.prepare(`SELECT id FROM ${table} WHERE tenant_id = ? ORDER BY id`)
          .bind(t.id)
          .all<{ id: string }>()
      ).results.map((r) => r.id.replace(`_${t.id}`, ""));
    expect(await left("hook_deliveries")).toEqual(["hd_old_waiting", "hd_recent_done"]);
    expect(await left("webhook_deliveries")).toEqual(["whd_old_pending", "whd_recent_done"]);
  });
});
