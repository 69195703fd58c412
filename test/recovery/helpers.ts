/**
 * The platform around Herald, for recovery and fault tests: a fake clock, requests built the way
 * storefronts, carriers and API clients send them, and a driver that plays the queues and the cron
 * (captured queue sends delivered through the real queue handler, honouring their delays; ticks at
 * later instants). Only the bindings are faulty (`faultyEnv`); Herald's code runs as deployed.
 */
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { signShopify } from "../../src/domain/signatures";
import { BASE } from "../helpers/api";
import { deliverWith, type FaultyEnv, faultyEnv, fetchWith, tickWith } from "../helpers/faults";
import type { TestTenant } from "../helpers/tenant";
import { SHOPIFY_SECRET } from "../hooks/helpers";

export const MIN = 60_000;
export const DAY = 24 * 60 * MIN;
/** Noon in New York: program messages are due at once (outside quiet hours). */
export const NOON_NY = Date.parse("2026-12-01T17:00:00.000Z");

/** Moves the clock every Herald function reads (the tests fake `Date` only). */
export const setClock = (ms: number): void => {
  vi.setSystemTime(ms);
};

export function apiRequest(
  key: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Request {
  return new Request(BASE + path, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A Shopify delivery as Shopify signs it: HMAC over the body only (the headers are not covered). */
export async function shopifyRequest(
  integrationId: string,
  topic: string,
  payload: unknown,
  ids: { eventId: string; webhookId?: string },
): Promise<Request> {
  const body = JSON.stringify(payload);
  return new Request(`${BASE}/hooks/${integrationId}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-shopify-topic": topic,
      "x-shopify-shop-domain": "my-shop.myshopify.com",
      "x-shopify-hmac-sha256": await signShopify(SHOPIFY_SECRET, body),
      "x-shopify-event-id": ids.eventId,
      "x-shopify-webhook-id": ids.webhookId ?? `wh-${ids.eventId}`,
    },
    body,
  });
}

export interface Sent {
  status: number;
  attempts: number;
  statuses: number[];
  /** The body of the last answer. */
  body: string;
}

/**
 * Sends until a 2xx, as a storefront, a carrier or an API client with the same key/id does: a 5xx
 * is retried at once, a 409 (the first attempt's idempotency lock) after the lock ran out.
 */
export async function sendUntilAccepted(
  platform: Platform,
  build: () => Request | Promise<Request>,
  maxAttempts = 6,
): Promise<Sent> {
  const statuses: number[] = [];
  for (let i = 0; i < maxAttempts; i++) {
    const res = await fetchWith(platform.f.env, await build());
    statuses.push(res.status);
    const body = await res.text();
    if (res.status >= 200 && res.status < 300) return { status: res.status, attempts: i + 1, statuses, body };
    if (res.status === 409) platform.advance(61_000);
    else expect(res.status, body).toBeGreaterThanOrEqual(500);
  }
  return { status: statuses.at(-1) ?? 0, attempts: maxAttempts, statuses, body: "" };
}

interface Pending {
  body: unknown;
  due: number;
  attempts: number;
}

/** Work-queue retries before the platform dead-letters a message (wrangler.jsonc max_retries). */
const WORK_MAX_RETRIES = 10;

/**
 * The queues and the cron around one faulty env. Captured work-queue messages are delivered one by
 * one through the real queue handler once their delay has passed; a retried message comes back
 * after its retry delay; dispatch-queue messages are only counted (the dispatch path has its own
 * sweep). `settle` plays the rest of the platform: ticks at later instants, each followed by the
 * queue deliveries it caused.
 */
export class Platform {
  readonly f: FaultyEnv;
  now: number;
  work: Pending[] = [];
  dispatchSends = 0;
  deadLettered = 0;

  constructor(f: FaultyEnv, start: number) {
    this.f = f;
    this.now = start;
    setClock(start);
  }

  advance(ms: number): void {
    this.now += ms;
    setClock(this.now);
  }

  private collect(): void {
    for (const m of this.f.takeCaptured()) {
      if (m.queue === "herald-work")
        this.work.push({ body: m.body, due: this.now + (m.delaySeconds ?? 0) * 1000, attempts: 1 });
      else this.dispatchSends += 1;
    }
  }

  /** Delivers every work message that is due, and those they cause, until none is due. */
  async drainWork(): Promise<void> {
    for (let guard = 0; guard < 200; guard++) {
      this.collect();
      const next = this.work.find((p) => p.due <= this.now);
      if (!next) return;
      this.work.splice(this.work.indexOf(next), 1);
      const { result, threw } = await deliverWith(this.f.env, "herald-work", [next.body], next.attempts);
      const retry = threw
        ? { delaySeconds: 0 }
        : (result.retryMessages[0] ?? (result.retryBatch.retry ? result.retryBatch : null));
      if (!retry) continue;
      if (next.attempts >= WORK_MAX_RETRIES) {
        this.deadLettered += 1;
        await deliverWith(this.f.env, "herald-work-dlq", [next.body]);
        continue;
      }
      this.work.push({
        body: next.body,
        due: this.now + (retry.delaySeconds ?? 0) * 1000,
        attempts: next.attempts + 1,
      });
    }
    throw new Error("the work queue did not settle");
  }

  /** Next ticks of the cron, `step` apart, each followed by the queue deliveries it caused. */
  async settle(rounds = 3, step = 6 * MIN): Promise<void> {
    await this.drainWork();
    for (let r = 0; r < rounds; r++) {
      this.advance(step);
      await tickWith(this.f.env, this.now);
      await this.drainWork();
    }
  }
}

/** A platform around the real bindings that captures queue sends (for fault-free setup steps). */
export const cleanPlatform = (start: number): Platform =>
  new Platform(faultyEnv(env, { capture: true }), start);

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

export interface MessageSummary {
  contact_id: string | null;
  status: string;
  body: string;
}

/** The tenant's messages (occurrences), in a tenant-independent shape. */
export async function tenantMessages(tenantId: string): Promise<MessageSummary[]> {
  const { results } = await env.DB.prepare(
    `SELECT contact_id, status, body FROM messages WHERE tenant_id = ? ORDER BY body, status, contact_id`,
  )
    .bind(tenantId)
    .all<MessageSummary>();
  return results;
}

export async function countRows(table: string, tenantId: string, where = "1 = 1"): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ? AND ${where}`)
    .bind(tenantId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
