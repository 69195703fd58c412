import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  type QueueResult,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import worker from "../../src/index";
import { encryptSecret, phoneHash } from "../../src/lib/crypto";
import { newId } from "../../src/lib/ids";
import { iso } from "../../src/lib/time";
import type { DispatchJob } from "../../src/pipeline/jobs";
import { newTenant } from "../helpers/tenant";

export const TWILIO_SID = "AC0123456789abcdef0123456789abcdef";
export const SINCH_PLAN = "0123456789abcdef0123456789abcdef";

/** A tenant straight from the API, for rows written directly into its outbox. */
export async function tenant(settings: Record<string, unknown> = {}) {
  return newTenant(settings);
}

/** A carrier row, its credentials sealed exactly as the carriers service seals them. */
export async function insertCarrier(
  tenantId: string,
  opts: {
    provider?: "twilio" | "sinch" | "sandbox";
    priority?: number;
    mps?: number | null;
    from?: string[];
    baseUrl?: string | null;
    deleted?: boolean;
  } = {},
): Promise<string> {
  const id = newId("carrier");
  const now = iso();
  const provider = opts.provider ?? "twilio";
  const credentials =
    provider === "twilio"
      ? { account_sid: TWILIO_SID, auth_token: "secret-token" }
      : provider === "sinch"
        ? { service_plan_id: SINCH_PLAN, api_token: "sinch-token" }
        : null;
  const sealed = credentials ? await encryptSecret(env.ENCRYPTION_KEY, JSON.stringify(credentials)) : null;
  await env.DB.prepare(
    `INSERT INTO carriers (id, tenant_id, provider, name, credentials_sealed, from_numbers, messaging_service_sid,
       base_url, mps, priority, callback_origin, deleted_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, 'https://herald.test', ?, ?, ?)`,
  )
    .bind(
      id,
      tenantId,
      provider,
      `${provider} ${opts.priority ?? 0}`,
      sealed,
      JSON.stringify(opts.from ?? ["+15005550006"]),
      // Loopback by default: a send that outlives its test's fetch stub fails here, never on the internet.
      opts.baseUrl === undefined ? "http://127.0.0.1:9" : opts.baseUrl,
      opts.mps === undefined ? 100 : opts.mps,
      opts.priority ?? 0,
      opts.deleted ? now : null,
      now,
      now,
    )
    .run();
  return id;
}

export interface OutboxOptions {
  to?: string;
  body?: string;
  segments?: number;
  status?: string;
  contactId?: string | null;
  carrierId?: string | null;
  pinned?: boolean;
  attempts?: number;
  expiresAt?: string | null;
  scheduledAt?: string | null;
  nextAttemptAt?: string | null;
  category?: "transactional" | "marketing";
  errorCode?: string | null;
  keywordReply?: boolean;
  /** A row written before messages carried `phone_hash` (dispatch hashes its phone itself). */
  withoutPhoneHash?: boolean;
}

let phoneN = 0;
export const nextPhone = (): string => `+1415555${String(1000 + (phoneN++ % 9000)).padStart(4, "0")}`;

/** An outbox row as the message service leaves it (default: queued now, valid for 24 h). */
export async function insertMessage(tenantId: string, o: OutboxOptions = {}): Promise<string> {
  const id = newId("message");
  const now = Date.now();
  const to = o.to ?? nextPhone();
  await env.DB.prepare(
    `INSERT INTO messages (id, tenant_id, contact_id, "to", phone_hash, body, body_hash, encoding, segments, characters,
       category, quiet_hours, status, scheduled_at, expires_at, next_attempt_at, carrier_id, carrier_pinned, attempts,
       error_code, keyword_reply, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'h', 'GSM-7', ?, 20, ?, 'ignore', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      id,
      tenantId,
      o.contactId ?? null,
      to,
      o.withoutPhoneHash ? null : await phoneHash(env.ENCRYPTION_KEY, tenantId, to),
      o.body ?? "Your code is 123456",
      o.segments ?? 1,
      o.category ?? "transactional",
      o.status ?? "queued",
      o.scheduledAt === undefined ? iso(now) : o.scheduledAt,
      o.expiresAt === undefined ? iso(now + 24 * 3_600_000) : o.expiresAt,
      o.nextAttemptAt === undefined ? iso(now) : o.nextAttemptAt,
      o.carrierId ?? null,
      o.pinned ? 1 : 0,
      o.attempts ?? 0,
      o.errorCode ?? null,
      o.keywordReply ? 1 : 0,
      iso(now),
      iso(now),
    )
    .run();
  return id;
}

export interface MessageState {
  id: string;
  status: string;
  status_reason: string | null;
  attempts: number;
  carrier_id: string | null;
  carrier_message_id: string | null;
  from: string | null;
  error_code: string | null;
  error_message: string | null;
  next_attempt_at: string | null;
  sent_at: string | null;
  delivered_at: string | null;
}

export async function message(id: string): Promise<MessageState> {
  const row = await env.DB.prepare(`SELECT * FROM messages WHERE id = ?`).bind(id).first<MessageState>();
  if (!row) throw new Error(`no message ${id}`);
  return row;
}

export async function events(id: string): Promise<string[]> {
  const { results } = await env.DB.prepare(
    `SELECT status FROM message_events WHERE message_id = ? ORDER BY at, rowid`,
  )
    .bind(id)
    .all<{ status: string }>();
  return results.map((r) => r.status);
}

let queueMsgN = 0;

/** Delivers these ids to the dispatch consumer as one queue batch, the way the queue does. */
export async function dispatch(
  ids: string[],
  queue = "herald-dispatch",
): Promise<QueueResult & { deliveryIds: string[] }> {
  const deliveryIds = ids.map(() => `qm-${++queueMsgN}`);
  const batch = createMessageBatch<DispatchJob>(
    queue,
    ids.map((messageId, i) => ({
      id: deliveryIds[i] as string,
      timestamp: new Date(),
      attempts: 1,
      body: { messageId },
    })),
  );
  // getQueueResult() does not report retry delays: record what the consumer asked the queue for.
  const retryDelays = new Map<string, number | undefined>();
  for (const m of batch.messages) {
    const retry = m.retry.bind(m);
    m.retry = (options?: QueueRetryOptions) => {
      retryDelays.set(m.id, options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  return {
    ...result,
    retryMessages: result.retryMessages.map((r) => ({ ...r, delaySeconds: retryDelays.get(r.msgId) })),
    deliveryIds,
  };
}

export interface TwilioCall {
  /** When the request reached the fake (ms). */
  at: number;
  accountSid: string;
  form: URLSearchParams;
  url: string;
}

type Reply =
  | { status: number; body: Record<string, unknown>; headers?: Record<string, string> }
  | "network-error";

/**
 * Fakes Twilio's CreateMessage at the HTTP boundary. `reply` decides per call (default 201 queued);
 * every request is recorded. Other fetches fail the test loudly.
 */
export function fakeTwilio(
  reply: (call: TwilioCall, n: number) => Reply = () => ({ status: 201, body: {} }),
) {
  const calls: TwilioCall[] = [];
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init as RequestInit);
    const url = new URL(req.url);
    const m = url.pathname.match(/^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/);
    if (req.method !== "POST" || !m) throw new Error(`unexpected fetch ${req.method} ${req.url}`);
    const form = new URLSearchParams(await req.text());
    const call: TwilioCall = {
      at: Date.now(),
      accountSid: decodeURIComponent(m[1] as string),
      form,
      url: req.url,
    };
    calls.push(call);
    const r = reply(call, calls.length);
    if (r === "network-error") throw new TypeError("Network connection lost.");
    const body =
      r.status === 201
        ? {
            sid: `SM${crypto.randomUUID().replaceAll("-", "")}`,
            status: "queued",
            to: form.get("To"),
            from: form.get("From"),
            body: form.get("Body"),
            account_sid: call.accountSid,
            num_segments: "1",
            ...r.body,
          }
        : r.body;
    return new Response(JSON.stringify(body), {
      status: r.status,
      headers: { "content-type": "application/json", ...r.headers },
    });
  });
  return { calls, spy };
}

/** A contact row (subscribed unless told otherwise). */
export async function insertContact(tenantId: string, phone: string, subscribed = true): Promise<string> {
  const id = newId("contact");
  const now = iso();
  await env.DB.prepare(
    `INSERT INTO contacts (id, tenant_id, phone, attributes, subscribed, marketing_opt_in, created_at, updated_at)
     VALUES (?, ?, ?, '{}', ?, 1, ?, ?)`,
  )
    .bind(id, tenantId, phone, subscribed ? 1 : 0, now, now)
    .run();
  return id;
}
