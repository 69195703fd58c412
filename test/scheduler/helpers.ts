import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import type { WorkJob } from "../../src/pipeline/jobs";
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

/**
 * The real bindings, except that the work queue keeps the occurrence pages the tick hands it
 * (`occurrences` jobs) in `jobs`, for the test to deliver through the real queue handler; every
 * other job goes to the real queue.
 */
export function pageCapture(base: Env = env): { env: Env; jobs: WorkJob[] } {
  const jobs: WorkJob[] = [];
  const keep = (body: WorkJob): boolean => {
    if (body.kind !== "occurrences") return false;
    jobs.push(body);
    return true;
  };
  const queue = {
    send: async (body: WorkJob, o?: QueueSendOptions) => {
      if (!keep(body)) await base.WORK_QUEUE.send(body, o);
    },
    sendBatch: async (msgs: Iterable<MessageSendRequest<WorkJob>>, o?: QueueSendBatchOptions) => {
      const rest = [...msgs].filter((m) => !keep(m.body));
      if (rest.length > 0) await base.WORK_QUEUE.sendBatch(rest, o);
    },
  } as unknown as Queue<WorkJob>;
  return { env: { ...base, WORK_QUEUE: queue }, jobs };
}

/** Delivers these work jobs as one batch through the real queue handler; returns what it decided. */
export async function deliverWork(jobs: WorkJob[], e: Env = env) {
  const batch = createMessageBatch<WorkJob>(
    "herald-work",
    jobs.map((body, i) => ({
      id: `work-${i}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts: 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<never>, e, ctx);
  return getQueueResult(batch, ctx);
}

/**
 * One cron tick at `isoTime`, the way Cloudflare fires it (the clock moves there too), then the work
 * queue's consumer of the occurrence pages it handed over (`drain: false` leaves them undelivered):
 * the tick selects what is due, the consumer creates the messages. Returns the pages' jobs.
 */
export async function tick(isoTime: string, opts: { drain?: boolean } = {}): Promise<WorkJob[]> {
  at(isoTime);
  const captured = pageCapture();
  const controller = createScheduledController({ scheduledTime: new Date(isoTime), cron: "* * * * *" });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, captured.env, ctx);
  await waitOnExecutionContext(ctx);
  const jobs = [...captured.jobs];
  if (opts.drain !== false)
    for (let i = 0; i < captured.jobs.length; i += 50) await deliverWork(captured.jobs.slice(i, i + 50));
  return jobs;
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
