import { and, asc, eq, isNull, type SQL, sql } from "drizzle-orm";
import { adapters, IMPLICIT_SANDBOX } from "../carriers/registry";
import type { CarrierConfig, SendResult } from "../carriers/types";
import { createDb } from "../db/client";
import { both } from "../db/guard";
import {
  carriers,
  contacts,
  messages,
  programExits,
  programs,
  stickySenders,
  suppressions,
  tenants,
  webhookEndpoints,
} from "../db/schema";
import { MAX_QUEUE_DELAY_SECONDS, MAX_SEND_ATTEMPTS, retryDelaySeconds } from "../domain/backoff";
import type { Env } from "../env";
import { iso } from "../lib/time";
import { durableObjectBuckets } from "../limits/durable-object";
import type { TokenBuckets } from "../limits/interface";
import { type CarrierRow, loadCarrierConfig } from "../services/carriers/config";
import { pickFromPool } from "../services/carriers/sticky";
import { statusCallbackUrlFor } from "../services/carriers/urls";
import {
  consentWouldChange,
  hashPhone,
  hashPhones,
  unsubscribeStatements,
} from "../services/contacts/consent";
import { serviceContext } from "../services/context";
import {
  type BulkRow,
  bulkTransitionStatements,
  movedIds,
  type Transition,
  transitionStatements,
} from "../services/messages/status";
import {
  carrierOptOutWebhookStatement,
  ringWebhooks,
  writtenDeliveries,
} from "../services/webhooks/in-batch";
import { claimedByReceipt, claimStatements } from "./dispatch-claim";
import { idempotentWrite, ledger, parkUntried } from "./dispatch-outage";
import { holdQuiet, type QuietTenant } from "./dispatch-quiet";
import { BatchWebhooks } from "./dispatch-webhooks";
import { enqueueDispatch, sendInChunks } from "./enqueue";
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
  carrier_pinned: boolean;
  attempts: number;
  tried_carrier_ids: string[];
  keyword_reply: boolean;
  phone_hash: string | null;
  /** 1 when the phone is on the tenant's suppression list (by `phone_hash`). */
  suppressed_hash: number | null;
  contact_subscribed: boolean | null;
  contact_marketing_opt_in: boolean | null;
  program_status: string | null;
  exited: number | null;
  quiet_hours: string;
  scheduled_at: string | null;
  contact_timezone: string | null;
  contact_region: string | null;
}

/** A message that passed the re-checks and waits for tokens and a carrier call. */
export interface Candidate {
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

const parseTried = (raw: unknown): string[] =>
  Array.isArray(raw) ? raw.filter((x): x is string => typeof x === "string") : [];

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

/**
 * Dispatch queue consumer. An outage of D1, the rate limiter or the queue is not an attempt: the
 * deliveries no step settled yet are given back with a lease and a delay (`parkUntried`), so the
 * batch never throws into the queue's immediate redelivery and `max_retries`.
 */
export async function handleDispatchBatch(
  batch: MessageBatch<DispatchJob>,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
  const book = ledger(batch.messages);
  try {
    await dispatchDeliveries(book.messages, env, durableObjectBuckets(env));
  } catch (err) {
    await parkUntried(env, book.unsettled(), Date.now(), err);
  }
}

/**
 * The outbox row is the truth: ids whose row is no longer `queued`
 * (redelivery, duplicate, canceled meanwhile) are acked and do nothing; every other row is re-checked
 * (validity, program, consent), paid for with tokens for the whole batch, claimed with a conditional
 * UPDATE (only claimed rows get a carrier call) and its result written with its status event in one
 * `db.batch()`.
 */
async function dispatchDeliveries(
  deliveries: Message<DispatchJob>[],
  env: Env,
  buckets: TokenBuckets,
): Promise<void> {
  const now = Date.now();
  const nowIsoStr = iso(now);
  const byId = new Map<string, Message<DispatchJob>[]>();
  for (const m of deliveries) {
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

  const { loaded, ...context } = await loadBatch(env, [...byId.keys()]);
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

  const { tenantMps, tenantQuiet, activeCarriers, pinnedRows, sticky, listening } = context;
  const suppressed = await legacySuppressions(env, rows);

  const finals: D1PreparedStatement[] = [];
  const finalAcks: Message<DispatchJob>[][] = [];
  const finalHooks = new BatchWebhooks(listening);
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
      if (row.contact_subscribed === false || row.suppressed_hash === 1 || suppressed.has(row.id)) {
        finalize(row, { to: "suppressed", from: ["queued"], set: { status_reason: "opted_out" } });
        continue;
      }
      if (row.category === "marketing" && row.contact_marketing_opt_in === false) {
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
        finalHooks.add(row.tenant_id, "message.failed", row.id);
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

  // The webhooks of these transitions are written with them, then rung.
  let finalDeliveries: string[] = [];
  if (finals.length > 0) {
    finalHooks.appendTo(env.DB, finals, nowIsoStr);
    finalDeliveries = finalHooks.written(await env.DB.batch(finals));
  }
  for (const a of finalAcks) ackAll(a);
  await ringWebhooks(env, finalDeliveries);
  if (candidates.length === 0) return;

  // Pace inside the invocation while the next tokens are less than a second away: a bucket holds only
  // one second of burst, so tokens that accrue while nobody asks are lost, and the queue's delays
  // (whole seconds, plus batching) cannot come back often enough to use them all.
  let pending = candidates;
  let at = now;
  for (;;) {
    pending = await holdQuiet(env, pending, tenantQuiet, at);
    if (pending.length === 0) break;
    const { granted, waiting } = await takeTokens(buckets, pending, tenantMps, at);
    if (granted.length > 0) {
      const sent = await claimAndSend(env, granted, sticky, at);
      await recordResults(env, sent, at, listening);
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
}

const inJson = (values: string[]) => sql`(SELECT value FROM json_each(${JSON.stringify(values)}))`;

/** The enabled webhook endpoints of these tenants (their event types), as a query to run or batch. */
const listenersQuery = (db: ReturnType<typeof createDb>, tenantIds: string[] | SQL) =>
  db
    .select({ tenantId: webhookEndpoints.tenantId, events: webhookEndpoints.events })
    .from(webhookEndpoints)
    .where(
      and(
        sql`${webhookEndpoints.tenantId} IN ${Array.isArray(tenantIds) ? inJson(tenantIds) : tenantIds}`,
        eq(webhookEndpoints.status, "enabled"),
        isNull(webhookEndpoints.deletedAt),
      ),
    );

const listeningPairs = (rows: { tenantId: string; events: string[] }[]): Set<string> =>
  new Set(rows.flatMap((r) => r.events.map((type) => `${r.tenantId}|${type}`)));

interface LoadedBatch {
  /** The rows of the batch's ids with their contact's consent, program status, exit and opt-out. */
  loaded: OutboxRow[];
  tenantMps: Map<string, number>;
  /** Each tenant's zone and quiet window, for the quiet-hours re-check. */
  tenantQuiet: Map<string, QuietTenant>;
  /** Live carriers of each tenant, by ascending priority. */
  activeCarriers: Map<string, CarrierRow[]>;
  /** Pinned carriers of the batch by id, deleted ones included (a deleted pinned carrier fails its messages). */
  pinnedRows: Map<string, CarrierRow>;
  /** Remembered pool numbers: `carrier_id|phone` → from number. */
  sticky: Map<string, string>;
  /** `tenant|event type` pairs some enabled webhook endpoint listens to (most batches: none). */
  listening: Set<string>;
}

/**
 * Everything a batch's decisions need, read in one D1 round trip (one read transaction): the rows
 * and, through sub-selects on the same ids, their tenants' rates, carriers, pinned carriers, sticky
 * senders and webhook subscriptions.
 */
async function loadBatch(env: Env, ids: string[]): Promise<LoadedBatch> {
  const db = createDb(env.DB);
  const idsJson = JSON.stringify(ids);
  const batchIds = sql`(SELECT value FROM json_each(${idsJson}))`;
  const batchTenants = sql`(SELECT tenant_id FROM messages WHERE id IN ${batchIds})`;
  const [loaded, tenantRows, carrierRows, pinned, sticky, listens] = await db.batch([
    db
      .select({
        id: messages.id,
        tenant_id: messages.tenantId,
        contact_id: messages.contactId,
        program_id: messages.programId,
        to: messages.to,
        body: messages.body,
        segments: messages.segments,
        category: messages.category,
        status: messages.status,
        expires_at: messages.expiresAt,
        carrier_id: messages.carrierId,
        carrier_pinned: messages.carrierPinned,
        attempts: messages.attempts,
        tried_carrier_ids: messages.triedCarrierIds,
        keyword_reply: messages.keywordReply,
        phone_hash: messages.phoneHash,
        suppressed_hash: sql<number | null>`(SELECT 1 FROM ${suppressions} s
          WHERE s.tenant_id = ${messages.tenantId} AND s.phone_hash = ${messages.phoneHash})`.as(
          "suppressed_hash",
        ),
        contact_subscribed: contacts.subscribed,
        contact_marketing_opt_in: contacts.marketingOptIn,
        // Aliased: D1 batch results are keyed by column name, and messages has a `status` too.
        program_status: sql<string | null>`${programs.status}`.as("program_status"),
        exited: sql<number | null>`(SELECT 1 FROM ${programExits} x
          WHERE x.program_id = ${messages.programId} AND x.contact_id = ${messages.contactId})`.as("exited"),
        quiet_hours: messages.quietHours,
        scheduled_at: messages.scheduledAt,
        contact_timezone: sql<string | null>`${contacts.timezone}`.as("contact_timezone"),
        contact_region: sql<string | null>`${contacts.region}`.as("contact_region"),
      })
      .from(messages)
      .leftJoin(contacts, and(eq(contacts.id, messages.contactId), eq(contacts.tenantId, messages.tenantId)))
      .leftJoin(programs, and(eq(programs.id, messages.programId), eq(programs.tenantId, messages.tenantId)))
      .where(sql`${messages.id} IN ${batchIds}`),
    db
      .select({
        id: tenants.id,
        mps: tenants.mps,
        timezone: tenants.timezone,
        quietHoursStart: tenants.quietHoursStart,
        quietHoursEnd: tenants.quietHoursEnd,
      })
      .from(tenants)
      .where(sql`${tenants.id} IN ${batchTenants}`),
    db
      .select()
      .from(carriers)
      .where(and(sql`${carriers.tenantId} IN ${batchTenants}`, isNull(carriers.deletedAt)))
      .orderBy(asc(carriers.priority), asc(carriers.createdAt), asc(carriers.id)),
    db
      .select()
      .from(carriers)
      .where(
        sql`${carriers.id} IN (SELECT carrier_id FROM messages WHERE id IN ${batchIds} AND carrier_pinned = 1)`,
      ),
    db
      .select({
        carrierId: stickySenders.carrierId,
        phone: stickySenders.phone,
        from: stickySenders.fromNumber,
      })
      .from(messages)
      .innerJoin(carriers, eq(carriers.tenantId, messages.tenantId))
      .innerJoin(
        stickySenders,
        and(eq(stickySenders.carrierId, carriers.id), eq(stickySenders.phone, messages.to)),
      )
      .where(sql`${messages.id} IN ${batchIds}`),
    listenersQuery(db, batchTenants),
  ]);
  const tenantIds = tenantRows.map((t) => t.id);
  const activeCarriers = new Map<string, CarrierRow[]>(tenantIds.map((t) => [t, []]));
  for (const c of carrierRows) activeCarriers.get(c.tenantId)?.push(c);
  return {
    loaded,
    tenantMps: new Map(tenantRows.map((t) => [t.id, t.mps ?? DEFAULT_TENANT_MPS])),
    tenantQuiet: new Map(tenantRows.map((t) => [t.id, t])),
    activeCarriers,
    pinnedRows: new Map(pinned.map((c) => [c.id, c])),
    sticky: new Map(sticky.map((r) => [`${r.carrierId}|${r.phone}`, r.from])),
    listening: listeningPairs(listens),
  };
}

/**
 * Ids of rows written before messages carried `phone_hash` whose phone is on their tenant's
 * suppression list: hashed here, looked up in one query (only such rows pay for it).
 */
async function legacySuppressions(env: Env, rows: OutboxRow[]): Promise<Set<string>> {
  const unhashed = rows.filter((r) => r.phone_hash === null && !r.keyword_reply);
  if (unhashed.length === 0) return new Set();
  const tenantIds = [...new Set(unhashed.map((r) => r.tenant_id))];
  const hashed: { rowId: string; tenantId: string; hash: string }[] = [];
  for (const tenantId of tenantIds) {
    const list = unhashed.filter((r) => r.tenant_id === tenantId);
    const hashes = await hashPhones(
      serviceContext(env, tenantId),
      list.map((r) => r.to),
    );
    for (const [i, r] of list.entries()) hashed.push({ rowId: r.id, tenantId, hash: hashes[i] ?? "" });
  }
  const { results } = await env.DB.prepare(
    `SELECT tenant_id, phone_hash FROM suppressions
      WHERE tenant_id IN (SELECT value FROM json_each(?1)) AND phone_hash IN (SELECT value FROM json_each(?2))`,
  )
    .bind(JSON.stringify(tenantIds), JSON.stringify(hashed.map((h) => h.hash)))
    .all<{ tenant_id: string; phone_hash: string }>();
  const kept = new Set(results.map((r) => `${r.tenant_id}|${r.phone_hash}`));
  return new Set(hashed.filter((h) => kept.has(`${h.tenantId}|${h.hash}`)).map((h) => h.rowId));
}

export interface Waiting {
  cand: Candidate;
  delayMs: number;
}

/** A line of candidates paying one bucket: its object, its rate, and who stands in it in order. */
interface BucketLine {
  name: string;
  rate: number;
  cands: Candidate[];
}

/**
 * Pays for the batch: one `take` per carrier pool (segments) and one per tenant, all at once. A
 * message goes when both of its buckets granted it; tokens one bucket granted to a message the
 * other refused go back to it. A message that got no tokens waits, spread by its place in the line
 * it was refused from, so waiting messages don't all come back at once.
 */
export async function takeTokens(
  buckets: TokenBuckets,
  candidates: Candidate[],
  tenantMps: Map<string, number>,
  now: number,
): Promise<{ granted: Candidate[]; waiting: Waiting[] }> {
  const lines = new Map<string, BucketLine>();
  const join = (name: string, rate: number, c: Candidate) => {
    const line = lines.get(name) ?? { name, rate, cands: [] };
    line.cands.push(c);
    lines.set(name, line);
  };
  for (const c of candidates) {
    const rate = c.carrier.mps;
    if (c.carrier.id !== null && rate !== null && rate !== undefined && rate > 0)
      join(`carrier:${c.carrier.id}`, rate, c);
    join(`tenant:${c.row.tenant_id}`, tenantMps.get(c.row.tenant_id) ?? DEFAULT_TENANT_MPS, c);
  }
  const refusedAfter = new Map<Candidate, number>();
  const grantedBy = new Map<Candidate, BucketLine[]>();
  await Promise.all(
    [...lines.values()].map(async (line) => {
      const grant = await buckets.take(
        line.name,
        line.rate,
        line.cands.map((c) => c.cost),
        now,
      );
      let ahead = 0;
      for (const [i, c] of line.cands.entries()) {
        if (i < grant.count) {
          grantedBy.set(c, [...(grantedBy.get(c) ?? []), line]);
          continue;
        }
        const delayMs = grant.retryAfterMs + (ahead * 1000) / line.rate;
        refusedAfter.set(c, Math.max(refusedAfter.get(c) ?? 0, delayMs));
        ahead += c.cost;
      }
    }),
  );
  const granted: Candidate[] = [];
  const waiting: Waiting[] = [];
  const refunds = new Map<BucketLine, number>();
  for (const c of candidates) {
    const delayMs = refusedAfter.get(c);
    if (delayMs === undefined) {
      granted.push(c);
      continue;
    }
    waiting.push({ cand: c, delayMs });
    for (const line of grantedBy.get(c) ?? []) refunds.set(line, (refunds.get(line) ?? 0) + c.cost);
  }
  await Promise.all([...refunds].map(([line, n]) => buckets.refund(line.name, line.rate, n, now)));
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
  await sendInChunks<DispatchJob>(
    env.DISPATCH_QUEUE,
    planned.map((p) => ({ body: { messageId: p.w.cand.row.id }, delaySeconds: p.delaySeconds })),
  );
  for (const p of planned) for (const m of p.w.cand.msgs) m.ack();
}

/**
 * Claims the granted rows (queued → sending, attempts + 1) in one batch together with their sticky
 * senders, then calls the carriers for exactly the rows whose claim changed them. The claim refuses
 * a phone opted out meanwhile (that row ends `suppressed / opted_out`). When the batch's answer is
 * lost, its receipts say whether it committed (the claimed rows are ours to send) or not (the
 * error goes up and the rows, still queued, are parked).
 */
async function claimAndSend(
  env: Env,
  granted: Candidate[],
  sticky: Map<string, string>,
  now: number,
): Promise<Sent[]> {
  const at = iso(now);
  const { statements: stmts, receipts } = claimStatements(
    env.DB,
    granted.map((c) => ({
      tenantId: c.row.tenant_id,
      messageId: c.row.id,
      carrierId: c.carrier.id,
      tried: c.tried,
    })),
    at,
  );
  // Sticky sender: the remembered pool number while it is still in the pool, else a new pick,
  // remembered in the same batch as the claim.
  const senders = new Map<Candidate, string | null>();
  const remember = new Map<string, { c: string; p: string; f: string }>();
  for (const c of granted) {
    const pool = c.carrier.fromNumbers ?? [];
    if (c.carrier.id === null || pool.length === 0) {
      senders.set(c, null);
      continue;
    }
    const remembered = sticky.get(`${c.carrier.id}|${c.row.to}`);
    const from = remembered && pool.includes(remembered) ? remembered : pickFromPool(pool, c.row.to);
    senders.set(c, from);
    if (from && from !== remembered)
      remember.set(`${c.carrier.id}|${c.row.to}`, { c: c.carrier.id, p: c.row.to, f: from });
  }
  if (remember.size > 0) {
    stmts.push(
      env.DB.prepare(
        `INSERT INTO sticky_senders (carrier_id, phone, from_number)
         SELECT json_extract(value, '$.c'), json_extract(value, '$.p'), json_extract(value, '$.f') FROM json_each(?) WHERE true
         ON CONFLICT (carrier_id, phone) DO UPDATE SET from_number = excluded.from_number`,
      ).bind(JSON.stringify([...remember.values()])),
    );
  }
  let moved: Set<string>;
  try {
    moved = movedIds((await env.DB.batch(stmts))[0]);
  } catch (err) {
    moved = await claimedByReceipt(env, receipts);
    // No receipt: the claim did not commit, and the rows are still queued for whoever handles the error.
    if (moved.size === 0) throw err;
  }
  const claimed: Candidate[] = [];
  for (const c of granted) {
    if (moved.has(c.row.id)) claimed.push(c);
    else ackAll(c.msgs);
  }

  return Promise.all(
    claimed.map(async (c): Promise<Sent> => {
      const from = senders.get(c) ?? null;
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
}

/**
 * Writes every carrier result with its status event, its webhooks and the opt-outs the carrier
 * reported in one batch, then acks or retries each delivery and rings the webhooks' doorbell.
 */
async function recordResults(env: Env, sent: Sent[], now: number, listening: Set<string>): Promise<void> {
  const at = iso(now);
  const stmts: D1PreparedStatement[] = [];
  const hooks = new BatchWebhooks(listening);
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
      hooks.add(row.tenant_id, "message.failed", row.id);
      after.push(() => ackAll(msgs));
    };
    if (result.outcome === "accepted") {
      acceptedRows.push({
        tenantId: row.tenant_id,
        messageId: row.id,
        set: { carrier_message_id: result.carrierMessageId, from, carrier_id: carrier.id },
      });
      hooks.add(row.tenant_id, "message.sent", row.id);
      if (result.status === "delivered") {
        deliveredRows.push({ tenantId: row.tenant_id, messageId: row.id });
        hooks.add(row.tenant_id, "message.delivered", row.id);
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
  // The carrier says these people opted out: honoured everywhere, not only on this carrier, in the
  // same batch, with the `contact.unsubscribed` webhook written exactly when it changes something.
  const optOutHooks: number[] = [];
  for (const o of optOuts) {
    const ctx = serviceContext(env, o.tenantId);
    const hash = await hashPhone(ctx, o.phone);
    // A rewrite of this batch (below) records nothing twice: the record of this `at` exists then.
    const once = {
      sql: "NOT EXISTS (SELECT 1 FROM consent_records WHERE tenant_id = ? AND phone_hash = ? AND source = 'carrier' AND at = ?)",
      params: [o.tenantId, hash, at],
    };
    if (listening.has(`${o.tenantId}|contact.unsubscribed`)) {
      optOutHooks.push(stmts.length);
      stmts.push(
        carrierOptOutWebhookStatement(
          env.DB,
          o.tenantId,
          o.phone,
          at,
          both(once, consentWouldChange(ctx, o.phone, hash, "unsubscribed")),
        ),
      );
    }
    stmts.push(...unsubscribeStatements(ctx, o.phone, hash, { source: "carrier", text: o.detail, at }, once));
  }
  hooks.appendTo(env.DB, stmts, at);
  // The carrier was called: its outcomes must be kept through a lost answer or a D1 blip. Every
  // statement is conditional on the state it leaves, so writing the batch again changes nothing twice.
  const results = stmts.length > 0 ? await idempotentWrite(() => env.DB.batch(stmts)) : [];
  for (const f of after) f();
  await ringWebhooks(env, [...hooks.written(results), ...writtenDeliveries(results, optOutHooks)]);
}

/**
 * Dead-letter consumer: a message whose deliveries ran out is marked `failed` with its last error —
 * only when it really used up its send attempts (`attempts` ≥ MAX_SEND_ATTEMPTS). One tried fewer
 * times (the queue's retries were also spent on outages) goes back to `queued` with a lease the
 * sweep honours (waiting is not an attempt); one still `sending`
 * stays so (the carrier may have it: its callback or the end of its validity decides, rule 9). The
 * `message.failed` webhooks are written in the same batch as the failures.
 */
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
        WHERE status = 'queued' AND id IN (SELECT value FROM json_each(?))`,
    )
      .bind(JSON.stringify(ids))
      .all<SweepRow & { error_code: string | null; error_message: string | null }>();
    const exhausted = results.filter((r) => r.attempts >= MAX_SEND_ATTEMPTS);
    const waiting = results.filter((r) => r.attempts < MAX_SEND_ATTEMPTS);
    const stmts = exhausted.flatMap((r) =>
      transitionStatements(env.DB, {
        tenantId: r.tenant_id,
        messageId: r.id,
        to: "failed",
        from: ["queued"],
        at,
        set: {
          status_reason: r.error_code ?? "retries_exhausted",
          error_code: r.error_code ?? "retries_exhausted",
        },
        detail: "dead-lettered: deliveries exhausted",
      }),
    );
    if (waiting.length > 0) {
      // The lease runs out now: the sweep rings again once the grace has passed.
      stmts.push(
        env.DB.prepare(
          `UPDATE messages SET next_attempt_at = ?1
            WHERE status = 'queued' AND attempts < ?2 AND id IN (SELECT value FROM json_each(?3))`,
        ).bind(at, MAX_SEND_ATTEMPTS, JSON.stringify(waiting.map((r) => r.id))),
      );
    }
    const hooks = new BatchWebhooks();
    for (const r of exhausted) hooks.add(r.tenant_id, "message.failed", r.id);
    hooks.appendTo(env.DB, stmts, at);
    if (stmts.length > 0) await ringWebhooks(env, hooks.written(await env.DB.batch(stmts)));
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
  //    Pipelined: each page's write batch also reads the next page, and a page is enqueued while
  //    the next one is written (its rows are committed before their ids go on the queue).
  const dueSql = `SELECT ${cols} FROM messages m WHERE m.status = 'scheduled' AND m.scheduled_at <= ? AND ${NOT_PAUSED}
      ORDER BY m.scheduled_at LIMIT ${SWEEP_PAGE}`;
  const duePage = () => env.DB.prepare(dueSql).bind(at);
  let page = (await duePage().all<SweepRow>()).results;
  let ringing: Promise<void> = Promise.resolve();
  for (let i = 0; i < SWEEP_MAX_PAGES && page.length > 0; i++) {
    const more = page.length === SWEEP_PAGE && i + 1 < SWEEP_MAX_PAGES;
    const results = await env.DB.batch([
      ...bulkTransitionStatements(env.DB, {
        to: "queued",
        from: ["scheduled"],
        at,
        set: { next_attempt_at: at },
        rows: page.map((r) => ({ tenantId: r.tenant_id, messageId: r.id })),
      }),
      ...(more ? [duePage()] : []),
    ]);
    await ringing;
    ringing = enqueueDispatch(env, [...movedIds(results[0])]);
    // Let other events of this isolate in between pages: the dispatcher can start on the first page
    // while the rest is released (locally, workerd would otherwise hold it until the tick ends).
    await new Promise((r) => setTimeout(r, 0));
    page = more ? ((results[2]?.results ?? []) as SweepRow[]) : [];
  }
  await ringing;

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
      const stmts = bulkTransitionStatements(env.DB, {
        to: "failed",
        from: ["sending"],
        at,
        set: { status_reason: "unknown_outcome" },
        rows: rows.map((r) => ({
          tenantId: r.tenant_id,
          messageId: r.id,
          detail: "no carrier outcome before the validity ended",
        })),
      });
      // Their `message.failed` webhooks are written with the failures (once per message).
      const hooks = new BatchWebhooks();
      for (const r of rows) hooks.add(r.tenant_id, "message.failed", r.id);
      hooks.appendTo(env.DB, stmts, at);
      await ringWebhooks(env, hooks.written(await env.DB.batch(stmts)));
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
