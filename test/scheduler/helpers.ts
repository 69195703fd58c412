import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import worker from "../../src/index";
import type { TestTenant } from "../helpers/tenant";

export interface MessageRow {
  id: string;
  status: string;
  status_reason: string | null;
  body: string;
  scheduled_at: string | null;
  contact_id: string | null;
  occurrence_key: string | null;
  to: string;
}

/** Sets the clock the API and the Worker read. */
export function at(isoTime: string): void {
  vi.setSystemTime(new Date(isoTime));
}

/** One cron tick at `isoTime`, the way Cloudflare fires it (the clock moves there too). */
export async function tick(isoTime: string): Promise<void> {
  at(isoTime);
  const controller = createScheduledController({ scheduledTime: new Date(isoTime), cron: "* * * * *" });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

/** Forgets the last tick, so a test can start its own timeline. */
export async function resetScheduler(lastTick?: string): Promise<void> {
  await env.DB.prepare("DELETE FROM system_state WHERE key = 'scheduler.last_tick'").run();
  if (lastTick)
    await env.DB.prepare(
      "INSERT INTO system_state (key, value, updated_at) VALUES ('scheduler.last_tick', ?, ?)",
    )
      .bind(lastTick, lastTick)
      .run();
}

export async function messagesOf(programId: string): Promise<MessageRow[]> {
  const { results } = await env.DB.prepare(
    `SELECT id, status, status_reason, body, scheduled_at, contact_id, occurrence_key, "to" FROM messages
     WHERE program_id = ? ORDER BY created_at, id`,
  )
    .bind(programId)
    .all<MessageRow>();
  return results;
}

export async function createProgram(t: TestTenant, body: Record<string, unknown>): Promise<string> {
  const res = await t.api.post<{ id: string }>("/v1/programs", body);
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

export async function createContact(t: TestTenant, body: Record<string, unknown>): Promise<string> {
  const res = await t.api.post<{ id: string }>("/v1/contacts", body);
  expect([200, 201], res.text).toContain(res.status);
  return res.body.id;
}

let n = 0;
export const phone = (): string => `+1212555${String(1000 + n++).padStart(4, "0")}`;
