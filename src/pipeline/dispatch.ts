import { and, asc, eq, inArray, isNull, sql } from "drizzle-orm";
import { adapters, IMPLICIT_SANDBOX } from "../carriers/registry";
import type { CarrierConfig, SendResult } from "../carriers/types";
import { createDb } from "../db/client";
import {
  carriers,
  messages,
  suppressions as suppressionsTable,
  tenants,
  webhookEndpoints,
} from "../db/schema";
import { MAX_QUEUE_DELAY_SECONDS, MAX_SEND_ATTEMPTS, retryDelaySeconds } from "../domain/backoff";
import type { Env } from "../env";
import { iso } from "../lib/time";
import { messageView } from "../routes/messages/schema";
import { type CarrierRow, loadCarrierConfig } from "../services/carriers/config";
import { pickFromPool } from "../services/carriers/sticky";
import { statusCallbackUrlFor } from "../services/carriers/urls";
import { hashPhones, unsubscribePhone } from "../services/contacts/consent";
import { serviceContext } from "../services/context";
import {
  type BulkRow,
  bulkTransitionStatements,
  movedIds,
  type Transition,
  transitionStatements,
} from "../services/messages/status";
import { emitWebhookEvent, type WebhookEventType } from "../services/webhooks/emit";
import { enqueueDispatch } from "./enqueue";
import type { DispatchJob } from "./jobs";

/** Tenant-wide segments per second when the tenant row has none. */
const DEFAULT_TENANT_MPS = 100;
/** A queued row whose lease ran out this long ago lost its queue message: the sweep rings again. */
export const LEASE_GRACE_MS = 120_000;
/** Rows handled per sweep statement page, and pages per category per tick (the rest wait a tick). */
const SWEEP_PAGE = 500;
const SWEEP_MAX_PAGES = 20;
/** Waiting for tokens inside one invocation: only for gaps this short, and this long in total. */
const PACE_STEP_MAX_MS = 1_000;
const PACE_BUDGET_MS = 5_000;
/** How long a message held by a paused program waits before it is looked at again. */
const PAUSED_HOLD_MS = 60_000;

/** The columns dispatch needs, joined with the contact's consent. */
interface OutboxRow {
  id: string;
  tenant_id: string;
  contact_id: string | null;
  program_id: string | null;
  to: string;
  body: string;
  segments: number;
  category: string;
  status: string;
  expires_at: string | null;
  carrier_id: string | null;
  carrier_pinned: number;
  attempts: number;
  tried_carrier_ids: string | null;
  keyword_reply: number;
  contact_subscribed: number | null;
  contact_marketing_opt_in: number | null;
  program_status: string | null;
  exited: number | null;
}

/** A message that passed the re-checks and waits for tokens and a carrier call. */
interface Candidate {
  row: OutboxRow;
  msgs: Message<DispatchJob>[];
  carrier: CarrierConfig;
  /** Where its callback URLs come from; null for the implicit sandbox. */
  callback: CarrierRow | null;
  tried: string[];
  cost: number;
}

interface Sent {
  cand: Candidate;
  from: string | null;
  result: SendResult;
}

/** A carrier ready to send: its decrypted config and the row its callback URLs come from (null: implicit sandbox). */
interface Route {
  config: CarrierConfig;
  row: CarrierRow | null;
}

const SANDBOX: Route = { config: IMPLICIT_SANDBOX, row: null };

/**
 * Decrypted carrier configs, per isolate, keyed by id and invalidated by `updated_at`: a batch
 * should not pay an AES-GCM decrypt per carrier per batch.
 */
const configCache = new Map<string, { updatedAt: string; route: Route }>();

async function routeFor(env: Env, row: CarrierRow): Promise<Route> {
  const hit = configCache.get(row.id);
  if (hit && hit.updatedAt === row.updatedAt) return hit.route;
  const route = { config: await loadCarrierConfig({ env }, row), row };
  if (configCache.size > 1000) configCache.clear();
  configCache.set(row.id, { updatedAt: row.updatedAt, route });
  return route;
}

const parseTried = (raw: string | null): string[] => {
  if (!raw) return [];
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
};

/** Next carrier by priority: the first not tried yet; once all were tried, the one tried longest ago. */
export function nextCarrier<T extends { id: string }>(active: T[], tried: string[]): T | undefined {
  const fresh = active.find((c) => !tried.includes(c.id));
  if (fresh) return fresh;
  let best: T | undefined;
  let bestAt = Number.POSITIVE_INFINITY;
  for (const c of active) {
    const at = tried.lastIndexOf(c.id);
    if (at < bestAt) {
      best = c;
      bestAt = at;
    }
  }
  return best;
}

const ackAll = (msgs: Message<DispatchJob>[]): void => {
  for (const m of msgs) m.ack();
};

/**
 * Queue delay for a message waiting for tokens: rounded down, so it is back a little early and
 * waits for its tokens by pacing rather than arriving after they were already lost to the cap.
 */
const clampDelay = (ms: number): number =>
  Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(1, Math.floor(ms / 1000)));

function messageData(row: OutboxRow, patch: Record<string, unknown>): Record<string, unknown> {
  return {
    id: row.id,
    contact_id: row.contact_id,
    program_id: row.program_id,
    to: row.to,
    segments: row.segments,
    ...patch,
  };
}

/**
 * Dispatch queue consumer. The outbox row is the truth: ids whose row is no longer `queued`
 * (redelivery, duplicate, canceled meanwhile) are acked and do nothing; every other row is re-checked
 * (validity, program, consent), paid for with tokens for the whole batch, claimed with a conditional
 * UPDATE (only claimed rows get a carrier call) and its result written with its status event in one
 * `db.batch()`.
 */
export async function handleDispatchBatch(
  batch: MessageBatch<DispatchJob>,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
  const now = Date.now();
  const nowIsoStr = iso(now);
  const byId = new Map<string, Message<DispatchJob>[]>();
  for (const m of batch.messages) {
    const id = m.body?.messageId;
    if (typeof id !== "string") {
      m.ack();
      continue;
    }
    const list = byId.get(id);
    if (list) list.push(m);
    else byId.set(id, [m]);
  }
  if (byId.size === 0) return;

  const { results: loaded } = await env.DB.prepare(
    `SELECT m.id, m.tenant_id, m.contact_id, m.program_id, m."to", m.body, m.segments, m.category, m.status,
            m.expires_at, m.carrier_id, m.carrier_pinned, m.attempts, m.tried_carrier_ids, m.keyword_reply,
            c.subscribed AS contact_subscribed, c.marketing_opt_in AS contact_marketing_opt_in,
            p.status AS program_status,
            (SELECT 1 FROM program_exits x WHERE x.program_id = m.program_id AND x.contact_id = m.contact_id) AS exited
       FROM messages m
       LEFT JOIN contacts c ON c.id = m.contact_id AND c.tenant_id = m.tenant_id
       LEFT JOIN programs p ON p.id = m.program_id AND p.tenant_id = m.tenant_id
      WHERE m.id IN (SELECT value FROM json_each(?))`,
  )
    .bind(JSON.stringify([...byId.keys()]))
    .all<OutboxRow>();

  const rows: OutboxRow[] = [];
  const seen = new Set<string>();
  for (const row of loaded) {
    seen.add(row.id);
    if (row.status === "queued") rows.push(row);
    else ackAll(byId.get(row.id) ?? []);
  }
  // Ids without a row (erased meanwhile) have nothing to send.
  for (const [id, msgs] of byId) if (!seen.has(id)) ackAll(msgs);
  if (rows.length === 0) return;

  const { tenantMps, activeCarriers, pinnedRows, suppressed, listening } = await batchContext(env, rows);

  const finals: D1PreparedStatement[] = [];
  const finalAcks: Message<DispatchJob>[][] = [];
  const webhooks: PendingWebhook[] = [];
  const finalize = (row: OutboxRow, t: Omit<Transition, "tenantId" | "messageId" | "at">) => {
    finals.push(
      ...transitionStatements(env.DB, { ...t, tenantId: row.tenant_id, messageId: row.id, at: nowIsoStr }),
    );
    finalAcks.push(byId.get(row.id) ?? []);
  };
  const held: OutboxRow[] = [];
  const candidates: Candidate[] = [];

  for (const row of rows) {
    const msgs = byId.get(row.id) ?? [];
    if (row.expires_at !== null && row.expires_at <= nowIsoStr) {
      finalize(row, { to: "expired", from: ["queued"], set: { status_reason: "validity_ended" } });
      continue;
    }
    if (row.program_status === "archived") {
      finalize(row, { to: "canceled", from: ["queued"], set: { status_reason: "program_archived" } });
      continue;
    }
    if (row.program_status === "paused") {
      held.push(row);
      continue;
    }
    if (row.exited) {
      finalize(row, { to: "suppressed", from: ["queued"], set: { status_reason: "exited" } });
      continue;
    }
    if (!row.keyword_reply) {
      if (row.contact_subscribed === 0 || suppressed.has(row.id)) {
        finalize(row, { to: "suppressed", from: ["queued"], set: { status_reason: "opted_out" } });
        continue;
      }
      if (row.category === "marketing" && row.contact_marketing_opt_in === 0) {
        finalize(row, { to: "suppressed", from: ["queued"], set: { status_reason: "no_consent" } });
        continue;
      }
    }
    const tried = parseTried(row.tried_carrier_ids);
    let chosen: CarrierRow | undefined;
    if (row.carrier_pinned && row.carrier_id) {
      const pinned = pinnedRows.get(row.carrier_id);
      if (!pinned || pinned.tenantId !== row.tenant_id || pinned.deletedAt !== null) {
        finalize(row, {
          to: "failed",
          from: ["queued"],
          set: {
            status_reason: "carrier_deleted",
            error_code: "carrier_deleted",
            error_message: "The pinned carrier was deleted",
          },
        });
        webhooks.push({
          tenantId: row.tenant_id,
          type: "message.failed",
          data: messageData(row, { status: "failed", status_reason: "carrier_deleted" }),
        });
        continue;
      }
      chosen = pinned;
    } else {
      chosen = nextCarrier(activeCarriers.get(row.tenant_id) ?? [], tried);
    }
    const route = chosen ? await routeFor(env, chosen) : SANDBOX;
    candidates.push({
      row,
      msgs,
      carrier: route.config,
      callback: route.row,
      tried,
      cost: Math.max(1, row.segments),
    });
  }

  // Paused programs: the row stays queued with a lease the sweep honours once the program resumes.
  if (held.length > 0) {
    finals.push(
      env.DB.prepare(
        `UPDATE messages SET next_attempt_at = ? WHERE status = 'queued' AND id IN (SELECT value FROM json_each(?))`,
      ).bind(iso(now + PAUSED_HOLD_MS), JSON.stringify(held.map((r) => r.id))),
    );
    for (const r of held) finalAcks.push(byId.get(r.id) ?? []);
  }

  if (finals.length > 0) await env.DB.batch(finals);
  for (const a of finalAcks) ackAll(a);
  if (candidates.length === 0) {
    await emitAll(env, webhooks, listening);
    return;
  }

  // Pace inside the invocation while the next tokens are less than a second away: a bucket holds only
  // one second of burst, so tokens that accrue while nobody asks are lost, and the queue's delays
  // (whole seconds, plus batching) cannot come back often enough to use them all.
  let pending = candidates;
  let at = now;
  for (;;) {
    const { granted, waiting } = await takeTokens(env, pending, tenantMps, at);
    if (granted.length > 0) {
      const sent = await claimAndSend(env, granted, at);
      await recordResults(env, sent, at, webhooks);
    }
    if (waiting.length === 0) break;
    const nextMs = Math.min(...waiting.map((w) => w.delayMs));
    const elapsed = Date.now() - now;
    if (nextMs > PACE_STEP_MAX_MS || elapsed + nextMs > PACE_BUDGET_MS) {
      await deferForTokens(env, waiting, Date.now());
      break;
    }
    await new Promise((r) => setTimeout(r, Math.max(1, nextMs)));
    at = Date.now();
    pending = waiting.map((w) => w.cand);
  }
  await emitAll(env, webhooks, listening);
}

interface PendingWebhook {
  tenantId: string;
  type: WebhookEventType;
  data: Record<string, unknown>;
}

/**
 * Emits the batch's webhook events. One look at who listens first (most batches have nobody
 * subscribed), then the listened ones carry the Message object as `GET /v1/messages/{id}` shows it,
 * with the status of the event itself (a sandbox message is already delivered when `message.sent` goes).
 */
async function emitAll(env: Env, webhooks: PendingWebhook[], known?: Set<string>): Promise<void> {
  if (webhooks.length === 0) return;
  const db = createDb(env.DB);
  const listening =
    known ?? listeningPairs(await listenersQuery(db, [...new Set(webhooks.map((w) => w.tenantId))]).all());
  const due = webhooks.filter((w) => listening.has(`${w.tenantId}|${w.type}`));
  if (due.length === 0) return;
  const ids = [...new Set(due.map((w) => w.data.id).filter((x): x is string => typeof x === "string"))];
  const rows =
    ids.length > 0
      ? await createDb(env.DB).select().from(messages).where(inArray(messages.id, ids)).all()
      : [];
  const views = new Map(rows.map((r) => [r.id, messageView(r)]));
  await Promise.all(
    due.map((w) => {
      const view = typeof w.data.id === "string" ? views.get(w.data.id) : undefined;
      const data = view ? { ...view, status: w.data.status ?? view.status } : w.data;
      return emitWebhookEvent(env, w.tenantId, w.type, data);
    }),
  );
}

const inJson = (values: string[]) => sql`(SELECT value FROM json_each(${JSON.stringify(values)}))`;

/** The enabled webhook endpoints of these tenants (their event types), as a query to run or batch. */
const listenersQuery = (db: ReturnType<typeof createDb>, tenantIds: string[]) =>
  db
    .select({ tenantId: webhookEndpoints.tenantId, events: webhookEndpoints.events })
    .from(webhookEndpoints)
    .where(
      and(
        sql`${webhookEndpoints.tenantId} IN ${inJson(tenantIds)}`,
        eq(webhookEndpoints.status, "enabled"),
        isNull(webhookEndpoints.deletedAt),
      ),
    );

const listeningPairs = (rows: { tenantId: string; events: string[] }[]): Set<string> =>
  new Set(rows.flatMap((r) => r.events.map((type) => `${r.tenantId}|${type}`)));

interface BatchContext {
  tenantMps: Map<string, number>;
  /** Live carriers of each tenant, by ascending priority. */
  activeCarriers: Map<string, CarrierRow[]>;
  /** Pinned carriers of the batch by id, deleted ones included (a deleted pinned carrier fails its messages). */
  pinnedRows: Map<string, CarrierRow>;
  /** Ids of rows (not keyword replies) whose phone is on their tenant's suppression list (kept by phone hash). */
  suppressed: Set<string>;
  /** `tenant|event type` pairs some enabled webhook endpoint listens to (most batches: none). */
  listening: Set<string>;
}

/**
 * Everything the batch's decisions need besides its rows, read in one D1 round trip: tenants' rates,
 * their carriers, pinned carriers, suppressions and webhook subscriptions.
 */
async function batchContext(env: Env, rows: OutboxRow[]): Promise<BatchContext> {
  const db = createDb(env.DB);
  const tenantIds = [...new Set(rows.map((r) => r.tenant_id))];
  const pinnedIds = [
    ...new Set(rows.filter((r) => r.carrier_pinned && r.carrier_id).map((r) => r.carrier_id as string)),
  ];
  // Suppressions are kept by keyed phone hash (per tenant); hashing is local, the look-up is one query.
  const hashed: { rowId: string; tenantId: string; hash: string }[] = [];
  for (const tenantId of tenantIds) {
    const list = rows.filter((r) => r.tenant_id === tenantId && !r.keyword_reply);
    const hashes = await hashPhones(
      serviceContext(env, tenantId),
      list.map((r) => r.to),
    );
    for (const [i, r] of list.entries()) hashed.push({ rowId: r.id, tenantId, hash: hashes[i] ?? "" });
  }
  const [tenantRows, carrierRows, pinned, suppressions, listens] = await db.batch([
    db
      .select({ id: tenants.id, mps: tenants.mps })
      .from(tenants)
      .where(sql`${tenants.id} IN ${inJson(tenantIds)}`),
    db
      .select()
      .from(carriers)
      .where(and(sql`${carriers.tenantId} IN ${inJson(tenantIds)}`, isNull(carriers.deletedAt)))
      .orderBy(asc(carriers.priority), asc(carriers.createdAt), asc(carriers.id)),
    db
      .select()
      .from(carriers)
      .where(sql`${carriers.id} IN ${inJson(pinnedIds)}`),
    db
      .select({ tenantId: suppressionsTable.tenantId, hash: suppressionsTable.phoneHash })
      .from(suppressionsTable)
      .where(
        and(
          sql`${suppressionsTable.tenantId} IN ${inJson(tenantIds)}`,
          sql`${suppressionsTable.phoneHash} IN ${inJson(hashed.map((h) => h.hash))}`,
        ),
      ),
    listenersQuery(db, tenantIds),
  ]);
  const activeCarriers = new Map<string, CarrierRow[]>(tenantIds.map((t) => [t, []]));
  for (const c of carrierRows) activeCarriers.get(c.tenantId)?.push(c);
  const kept = new Set(suppressions.map((x) => `${x.tenantId}|${x.hash}`));
  return {
    tenantMps: new Map(tenantRows.map((t) => [t.id, t.mps ?? DEFAULT_TENANT_MPS])),
    activeCarriers,
    pinnedRows: new Map(pinned.map((c) => [c.id, c])),
    suppressed: new Set(hashed.filter((h) => kept.has(`${h.tenantId}|${h.hash}`)).map((h) => h.rowId)),
    listening: listeningPairs(listens),
  };
}

interface Waiting {
  cand: Candidate;
  delayMs: number;
}

/**
 * Pays for the batch: one `take` per carrier pool (segments), then one for the tenant over what the
 * pools granted; tokens a pool granted but the tenant refused go back to the pool. A message that
 * got no tokens waits, spread by its place in the line so waiting messages don't all come back at once.
 */
async function takeTokens(
  env: Env,
  candidates: Candidate[],
  tenantMps: Map<string, number>,
  now: number,
): Promise<{ granted: Candidate[]; waiting: Waiting[] }> {
  const waiting: Waiting[] = [];
  const pools = new Map<string, { rate: number; cands: Candidate[] }>();
  const afterPools: Candidate[] = [];
  for (const c of candidates) {
    const rate = c.carrier.mps;
    if (c.carrier.id !== null && rate !== null && rate !== undefined && rate > 0) {
      const key = `carrier:${c.carrier.id}`;
      const pool = pools.get(key) ?? { rate, cands: [] };
      pool.cands.push(c);
      pools.set(key, pool);
    } else {
      afterPools.push(c);
    }
  }
  const deny = (cands: Candidate[], rate: number, retryAfterMs: number) => {
    let ahead = 0;
    for (const c of cands) {
      waiting.push({ cand: c, delayMs: retryAfterMs + (ahead * 1000) / rate });
      ahead += c.cost;
    }
  };
  await Promise.all(
    [...pools].map(async ([key, pool]) => {
      const grant = await env.RATE_LIMITER.getByName(key).take(
        pool.rate,
        pool.cands.map((c) => c.cost),
        now,
      );
      afterPools.push(...pool.cands.slice(0, grant.count));
      deny(pool.cands.slice(grant.count), pool.rate, grant.retryAfterMs);
    }),
  );

  const granted: Candidate[] = [];
  const byTenant = new Map<string, Candidate[]>();
  for (const c of afterPools) {
    const list = byTenant.get(c.row.tenant_id) ?? [];
    list.push(c);
    byTenant.set(c.row.tenant_id, list);
  }
  await Promise.all(
    [...byTenant].map(async ([tenantId, cands]) => {
      const rate = tenantMps.get(tenantId) ?? DEFAULT_TENANT_MPS;
      const grant = await env.RATE_LIMITER.getByName(`tenant:${tenantId}`).take(
        rate,
        cands.map((c) => c.cost),
        now,
      );
      granted.push(...cands.slice(0, grant.count));
      const refused = cands.slice(grant.count);
      deny(refused, rate, grant.retryAfterMs);
      const refunds = new Map<string, { rate: number; n: number }>();
      for (const c of refused) {
        if (c.carrier.id === null || !c.carrier.mps) continue;
        const r = refunds.get(c.carrier.id) ?? { rate: c.carrier.mps, n: 0 };
        r.n += c.cost;
        refunds.set(c.carrier.id, r);
      }
      await Promise.all(
        [...refunds].map(([id, r]) => env.RATE_LIMITER.getByName(`carrier:${id}`).refund(r.rate, r.n, now)),
      );
    }),
  );
  return { granted, waiting };
}

/**
 * Waiting for tokens is not an attempt: the lease moves to when tokens should be there, the id goes
 * back on the queue with that delay, and the original delivery is acked (a `retry()` would count
 * toward the queue's max_retries and push a merely rate-limited message into the dead-letter queue).
 */
async function deferForTokens(env: Env, waiting: Waiting[], now: number): Promise<void> {
  const planned = waiting.map((w) => ({ w, delaySeconds: clampDelay(w.delayMs) }));
  await env.DB.prepare(
    `UPDATE messages SET next_attempt_at = (SELECT json_extract(j.value, '$[1]') FROM json_each(?1) j
                                            WHERE json_extract(j.value, '$[0]') = messages.id)
      WHERE status = 'queued' AND id IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))`,
  )
    .bind(JSON.stringify(planned.map((p) => [p.w.cand.row.id, iso(now + p.delaySeconds * 1000)])))
    .run();
  for (let i = 0; i < planned.length; i += 100) {
    await env.DISPATCH_QUEUE.sendBatch(
      planned
        .slice(i, i + 100)
        .map((p) => ({ body: { messageId: p.w.cand.row.id }, delaySeconds: p.delaySeconds })),
    );
  }
  for (const p of planned) for (const m of p.w.cand.msgs) m.ack();
}

/**
 * Claims the granted rows (queued → sending, attempts + 1) in one batch together with their sticky
 * senders, then calls the carriers for exactly the rows whose claim changed them.
 */
async function claimAndSend(env: Env, granted: Candidate[], now: number): Promise<Sent[]> {
  const at = iso(now);
  const stmts: D1PreparedStatement[] = bulkTransitionStatements(env.DB, {
    to: "sending",
    from: ["queued"],
    at,
    incrementAttempts: true,
    rows: granted.map((c) => ({
      tenantId: c.row.tenant_id,
      messageId: c.row.id,
      set: {
        carrier_id: c.carrier.id,
        tried_carrier_ids: JSON.stringify(c.carrier.id === null ? c.tried : [...c.tried, c.carrier.id]),
      },
      detail: c.carrier.id === null ? "sandbox" : `carrier ${c.carrier.id}`,
    })),
  });
  const stickyPairs = granted
    .filter((c) => c.carrier.id !== null && (c.carrier.fromNumbers?.length ?? 0) > 0)
    .map((c) => ({ c: c.carrier.id, p: c.row.to, f: pickFromPool(c.carrier.fromNumbers ?? [], c.row.to) }));
  if (stickyPairs.length > 0) {
    stmts.push(
      env.DB.prepare(
        `INSERT OR IGNORE INTO sticky_senders (carrier_id, phone, from_number)
         SELECT json_extract(value, '$.c'), json_extract(value, '$.p'), json_extract(value, '$.f') FROM json_each(?)`,
      ).bind(JSON.stringify(stickyPairs)),
      env.DB.prepare(
        `SELECT s.carrier_id, s.phone, s.from_number FROM sticky_senders s
           JOIN json_each(?) j ON s.carrier_id = json_extract(j.value, '$.c') AND s.phone = json_extract(j.value, '$.p')`,
      ).bind(JSON.stringify(stickyPairs)),
    );
  }
  const results = await env.DB.batch(stmts);
  const sticky = new Map<string, string>();
  if (stickyPairs.length > 0) {
    const rows = (results[results.length - 1]?.results ?? []) as {
      carrier_id: string;
      phone: string;
      from_number: string;
    }[];
    for (const r of rows) sticky.set(`${r.carrier_id}|${r.phone}`, r.from_number);
  }

  const moved = movedIds(results[0]);
  const claimed: Candidate[] = [];
  for (const c of granted) {
    if (moved.has(c.row.id)) claimed.push(c);
    else ackAll(c.msgs);
  }

  const repair: { c: string; p: string; f: string }[] = [];
  const sent = await Promise.all(
    claimed.map(async (c): Promise<Sent> => {
      const pool = c.carrier.fromNumbers ?? [];
      let from: string | null = null;
      if (c.carrier.id !== null && pool.length > 0) {
        const remembered = sticky.get(`${c.carrier.id}|${c.row.to}`);
        from = remembered && pool.includes(remembered) ? remembered : pickFromPool(pool, c.row.to);
        if (from && from !== remembered) repair.push({ c: c.carrier.id, p: c.row.to, f: from });
      }
      const validitySeconds =
        c.row.expires_at === null
          ? undefined
          : Math.max(1, Math.floor((Date.parse(c.row.expires_at) - now) / 1000));
      let result: SendResult;
      try {
        result = await adapters[c.carrier.provider].send(c.carrier, {
          messageId: c.row.id,
          to: c.row.to,
          ...(from ? { from } : {}),
          ...(c.carrier.messagingServiceSid ? { messagingServiceSid: c.carrier.messagingServiceSid } : {}),
          body: c.row.body,
          ...(validitySeconds !== undefined ? { validitySeconds } : {}),
          statusCallbackUrl: statusCallbackUrlFor(c.callback, c.row.id),
        });
      } catch (err) {
        // Nobody can tell whether the request left: never resend blindly.
        result = {
          outcome: "retryable",
          errorCode: "send_error",
          errorMessage: err instanceof Error ? err.message : String(err),
          maybeAccepted: true,
        };
      }
      return { cand: c, from, result };
    }),
  );
  if (repair.length > 0) {
    await env.DB.prepare(
      `UPDATE sticky_senders SET from_number = (SELECT json_extract(j.value, '$.f') FROM json_each(?1) j
         WHERE json_extract(j.value, '$.c') = sticky_senders.carrier_id AND json_extract(j.value, '$.p') = sticky_senders.phone)
       WHERE EXISTS (SELECT 1 FROM json_each(?1) j
         WHERE json_extract(j.value, '$.c') = sticky_senders.carrier_id AND json_extract(j.value, '$.p') = sticky_senders.phone)`,
    )
      .bind(JSON.stringify(repair))
      .run();
  }
  return sent;
}

/** Writes every carrier result with its status event in one batch, then acks or retries each delivery. */
async function recordResults(env: Env, sent: Sent[], now: number, webhooks: PendingWebhook[]): Promise<void> {
  const at = iso(now);
  const stmts: D1PreparedStatement[] = [];
  const after: (() => void)[] = [];
  const optOuts: { tenantId: string; phone: string; detail: string }[] = [];
  const acceptedRows: BulkRow[] = [];
  const deliveredRows: BulkRow[] = [];
  for (const { cand, from, result } of sent) {
    const { row, carrier, msgs } = cand;
    const base = { tenantId: row.tenant_id, messageId: row.id, at };
    const attempts = row.attempts + 1;
    /** A final failure with the carrier's code and message, its `message.failed` webhook, and the ack. */
    const fail = (detail: string, extra: { carrier_id?: string | null; from?: string | null }) => {
      if (result.outcome === "accepted") return;
      const error = {
        status_reason: result.errorCode,
        error_code: result.errorCode,
        error_message: result.errorMessage,
      };
      stmts.push(
        ...transitionStatements(env.DB, {
          ...base,
          to: "failed",
          from: ["sending"],
          set: { ...error, ...extra },
          detail,
        }),
      );
      const { from: _sender, ...shown } = extra;
      webhooks.push({
        tenantId: row.tenant_id,
        type: "message.failed",
        data: messageData(row, { status: "failed", ...error, ...shown, attempts }),
      });
      after.push(() => ackAll(msgs));
    };
    if (result.outcome === "accepted") {
      acceptedRows.push({
        tenantId: row.tenant_id,
        messageId: row.id,
        set: { carrier_message_id: result.carrierMessageId, from, carrier_id: carrier.id },
      });
      const data = {
        carrier_id: carrier.id,
        carrier_message_id: result.carrierMessageId,
        from,
        sent_at: at,
        attempts,
      };
      webhooks.push({
        tenantId: row.tenant_id,
        type: "message.sent",
        data: messageData(row, { ...data, status: "sent" }),
      });
      if (result.status === "delivered") {
        deliveredRows.push({ tenantId: row.tenant_id, messageId: row.id });
        webhooks.push({
          tenantId: row.tenant_id,
          type: "message.delivered",
          data: messageData(row, { ...data, status: "delivered", delivered_at: at }),
        });
      }
      after.push(() => ackAll(msgs));
    } else if (result.outcome === "permanent") {
      fail(result.errorMessage, { carrier_id: carrier.id, from });
      if (result.optedOut)
        optOuts.push({ tenantId: row.tenant_id, phone: row.to, detail: result.errorMessage });
    } else if (result.maybeAccepted) {
      // The carrier may have the message: it stays `sending` until its callback (our id is in the
      // callback URL) or the end of its validity (the sweep then marks it failed / unknown_outcome).
      stmts.push(
        env.DB.prepare(
          "UPDATE messages SET error_code = ?, error_message = ?, updated_at = ? WHERE id = ? AND status = 'sending'",
        ).bind(result.errorCode, result.errorMessage, at, row.id),
      );
      after.push(() => ackAll(msgs));
    } else if (attempts >= MAX_SEND_ATTEMPTS) {
      fail(`retries exhausted after ${attempts} attempts: ${result.errorMessage}`, {});
    } else {
      const delaySeconds = retryDelaySeconds(attempts, result.retryAfterSeconds);
      stmts.push(
        ...transitionStatements(env.DB, {
          ...base,
          to: "queued",
          from: ["sending"],
          set: {
            next_attempt_at: iso(now + delaySeconds * 1000),
            error_code: result.errorCode,
            error_message: result.errorMessage,
          },
          detail: `retry in ${delaySeconds} s after ${result.errorCode}${carrier.id ? ` from ${carrier.id}` : ""}`,
        }),
      );
      after.push(() => {
        const [first, ...rest] = msgs;
        first?.retry({ delaySeconds });
        for (const m of rest) m.ack();
      });
    }
  }
  // Accepted sends: two statements for the whole batch (and two more for the sandbox's delivery).
  stmts.push(
    ...bulkTransitionStatements(env.DB, {
      to: "sent",
      from: ["sending"],
      at,
      set: { sent_at: at, error_code: null, error_message: null, status_reason: null },
      rows: acceptedRows,
    }),
    ...bulkTransitionStatements(env.DB, {
      to: "delivered",
      from: ["sent"],
      at,
      set: { delivered_at: at },
      rows: deliveredRows,
    }),
  );
  if (stmts.length > 0) await env.DB.batch(stmts);
  for (const f of after) f();
  for (const o of optOuts) {
    // The carrier says this person opted out: honour it everywhere, not only on this carrier.
    const ctx = serviceContext(env, o.tenantId);
    const { changed, contactId } = await unsubscribePhone(ctx, o.phone, {
      source: "carrier",
      text: o.detail,
    });
    if (changed) {
      webhooks.push({
        tenantId: o.tenantId,
        type: "contact.unsubscribed",
        data: { contact_id: contactId, phone: o.phone, source: "carrier" },
      });
    }
  }
}

/** Dead-letter consumer: a message whose deliveries ran out is marked `failed` with its last error. */
export async function handleDispatchDeadLetters(batch: MessageBatch<DispatchJob>, env: Env): Promise<void> {
  const ids = [
    ...new Set(
      batch.messages.map((m) => m.body?.messageId).filter((x): x is string => typeof x === "string"),
    ),
  ];
  if (ids.length > 0) {
    const at = iso(Date.now());
    const { results } = await env.DB.prepare(
      `SELECT id, tenant_id, contact_id, program_id, "to", segments, error_code, error_message, attempts FROM messages
        WHERE status IN ('queued', 'sending') AND id IN (SELECT value FROM json_each(?))`,
    )
      .bind(JSON.stringify(ids))
      .all<OutboxRow & { error_code: string | null; error_message: string | null }>();
    if (results.length > 0) {
      const stmts = results.flatMap((r) =>
        transitionStatements(env.DB, {
          tenantId: r.tenant_id,
          messageId: r.id,
          to: "failed",
          from: ["queued", "sending"],
          at,
          set: {
            status_reason: r.error_code ?? "retries_exhausted",
            error_code: r.error_code ?? "retries_exhausted",
          },
          detail: "dead-lettered: deliveries exhausted",
        }),
      );
      const out = await env.DB.batch(stmts);
      await emitAll(
        env,
        results
          .filter((_, i) => (out[i * 2]?.meta.changes ?? 0) === 1)
          .map((r) => ({
            tenantId: r.tenant_id,
            type: "message.failed" as const,
            data: { id: r.id, status: "failed" },
          })),
      );
    }
  }
  batch.ackAll();
}

interface SweepRow {
  id: string;
  tenant_id: string;
  contact_id: string | null;
  program_id: string | null;
  to: string;
  segments: number;
  attempts: number;
}

const NOT_PAUSED = `(m.program_id IS NULL OR NOT EXISTS (SELECT 1 FROM programs p WHERE p.id = m.program_id AND p.status = 'paused'))`;

/**
 * Outbox sweep run by every scheduler tick: expires rows past validity, releases due `scheduled`
 * rows, re-rings `queued` rows whose lease ran out 2+ minutes ago, ends `sending` rows past validity
 * as failed/unknown_outcome. Paged and bounded: what is left waits for the next tick.
 */
export async function sweepOutbox(env: Env, now: number): Promise<void> {
  const at = iso(now);
  const cols = `m.id, m.tenant_id, m.contact_id, m.program_id, m."to", m.segments, m.attempts`;

  // 1. Validity ended before a carrier had it.
  await pages(
    env,
    `SELECT ${cols} FROM messages m WHERE m.status IN ('scheduled', 'queued') AND m.expires_at <= ? LIMIT ${SWEEP_PAGE}`,
    [at],
    async (rows) => {
      await env.DB.batch(
        bulkTransitionStatements(env.DB, {
          to: "expired",
          from: ["scheduled", "queued"],
          at,
          set: { status_reason: "validity_ended" },
          rows: rows.map((r) => ({ tenantId: r.tenant_id, messageId: r.id })),
        }),
      );
    },
  );

  // 2. Due scheduled rows (send_at reached, quiet hours over) become queued and ring the doorbell.
  await pages(
    env,
    `SELECT ${cols} FROM messages m WHERE m.status = 'scheduled' AND m.scheduled_at <= ? AND ${NOT_PAUSED}
      ORDER BY m.scheduled_at LIMIT ${SWEEP_PAGE}`,
    [at],
    async (rows) => {
      const [moved] = await env.DB.batch(
        bulkTransitionStatements(env.DB, {
          to: "queued",
          from: ["scheduled"],
          at,
          set: { next_attempt_at: at },
          rows: rows.map((r) => ({ tenantId: r.tenant_id, messageId: r.id })),
        }),
      );
      await enqueueDispatch(env, [...movedIds(moved)]);
    },
  );

  // 3. Queued rows whose lease ran out 2+ minutes ago lost their queue message: ring again.
  const stale = iso(now - LEASE_GRACE_MS);
  await pages(
    env,
    `SELECT ${cols} FROM messages m WHERE m.status = 'queued'
        AND (m.next_attempt_at < ? OR (m.next_attempt_at IS NULL AND m.updated_at < ?)) AND ${NOT_PAUSED}
      ORDER BY m.next_attempt_at LIMIT ${SWEEP_PAGE}`,
    [stale, stale],
    async (rows) => {
      const { results } = await env.DB.prepare(
        `UPDATE messages SET next_attempt_at = ? WHERE status = 'queued' AND id IN (SELECT value FROM json_each(?)) RETURNING id`,
      )
        .bind(at, JSON.stringify(rows.map((r) => r.id)))
        .all<{ id: string }>();
      await enqueueDispatch(
        env,
        results.map((r) => r.id),
      );
    },
  );

  // 4. Rows left `sending` (the process died during the carrier call, or the call timed out) are never
  //    resent: once their validity is over they fail as unknown_outcome; a late callback may still lift them.
  await pages(
    env,
    `SELECT ${cols} FROM messages m WHERE m.status = 'sending'
        AND (m.expires_at <= ? OR (m.expires_at IS NULL AND m.updated_at < ?)) LIMIT ${SWEEP_PAGE}`,
    [at, iso(now - 24 * 3_600_000)],
    async (rows) => {
      const [out] = await env.DB.batch(
        bulkTransitionStatements(env.DB, {
          to: "failed",
          from: ["sending"],
          at,
          set: { status_reason: "unknown_outcome" },
          rows: rows.map((r) => ({
            tenantId: r.tenant_id,
            messageId: r.id,
            detail: "no carrier outcome before the validity ended",
          })),
        }),
      );
      const failed = movedIds(out);
      await emitAll(
        env,
        rows
          .filter((r) => failed.has(r.id))
          .map((r) => ({
            tenantId: r.tenant_id,
            type: "message.failed" as const,
            data: { id: r.id, status: "failed" },
          })),
      );
    },
  );
}

/** Runs `handle` on pages of `sql` until a page comes back short or the per-tick bound is reached. */
async function pages(
  env: Env,
  sql: string,
  params: string[],
  handle: (rows: SweepRow[]) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < SWEEP_MAX_PAGES; i++) {
    const { results } = await env.DB.prepare(sql)
      .bind(...params)
      .all<SweepRow>();
    if (results.length > 0) await handle(results);
    if (results.length < SWEEP_PAGE) return;
  }
}
