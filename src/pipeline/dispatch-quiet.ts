import { nextAllowedMinute } from "../domain/quiet-hours";
import { quietWindowsFor, recipientZones } from "../domain/rules";
import { iso } from "../lib/time";
import { type BulkRow, bulkTransitionStatements } from "../services/messages/status";
import type { DispatchJob } from "./jobs";

/** What the quiet-hours re-check needs of a tenant: its zone and window. */
export interface QuietTenant {
  timezone: string;
  quietHoursStart: string;
  quietHoursEnd: string;
}

const DEFAULT_QUIET_TENANT: QuietTenant = {
  timezone: "America/New_York",
  quietHoursStart: "21:00",
  quietHoursEnd: "08:00",
};

/** What the quiet-hours re-check needs of an outbox row. */
export interface QuietRow {
  id: string;
  tenant_id: string;
  to: string;
  quiet_hours: string;
  keyword_reply: boolean;
  scheduled_at: string | null;
  expires_at: string | null;
  contact_timezone: string | null;
  contact_region: string | null;
}

/**
 * Rule 5 again just before the carrier call: the first allowed minute for a row that enforces quiet
 * hours and would reach the carrier inside them at `at`, else null. The same zones, windows and
 * `nextAllowedMinute` as at creation (one predicate); keyword replies skip it.
 */
export function quietUntil(row: QuietRow, loaded: QuietTenant | undefined, at: number): number | null {
  if (row.quiet_hours !== "enforce" || row.keyword_reply) return null;
  // Fail closed: a tenant row that did not load still gets the default window (PRODUCT.md rule 5).
  const tenant = loaded ?? DEFAULT_QUIET_TENANT;
  const zones = recipientZones(row.to, row.contact_timezone, tenant.timezone);
  const allowed = nextAllowedMinute(
    new Date(at),
    zones,
    quietWindowsFor(tenant, row.to, row.contact_region),
  ).getTime();
  return allowed > at ? allowed : null;
}

/**
 * Statements taking held rows from `queued` back to `scheduled` for their first allowed minute; the
 * validity they had counts again from that minute. The sweep releases them when the minute comes.
 */
export function quietHoldStatements(
  d1: D1Database,
  held: { row: QuietRow; until: number }[],
  at: number,
): D1PreparedStatement[] {
  const rows: BulkRow[] = held.map(({ row, until }) => {
    const validityMs =
      row.expires_at !== null && row.scheduled_at !== null
        ? Math.max(0, Date.parse(row.expires_at) - Date.parse(row.scheduled_at))
        : null;
    return {
      tenantId: row.tenant_id,
      messageId: row.id,
      set: {
        scheduled_at: iso(until),
        expires_at: validityMs === null ? row.expires_at : iso(until + validityMs),
      },
      detail: `quiet hours until ${iso(until)}`,
    };
  });
  return bulkTransitionStatements(d1, {
    to: "scheduled",
    from: ["queued"],
    at: iso(at),
    set: { next_attempt_at: null, status_reason: null },
    rows,
  });
}

/**
 * Rule 5 just before the carrier call: a candidate that enforces quiet hours and would reach the
 * carrier inside them at `at` (after waiting for tokens or retries) goes back to `scheduled` for the
 * next allowed minute, and its deliveries are acked. The others go on.
 */
export async function holdQuiet<C extends { row: QuietRow; msgs: Message<DispatchJob>[] }>(
  env: { DB: D1Database },
  cands: C[],
  tenants: Map<string, QuietTenant>,
  at: number,
): Promise<C[]> {
  const go: C[] = [];
  const held: { row: QuietRow; until: number; msgs: Message<DispatchJob>[] }[] = [];
  for (const c of cands) {
    const until = quietUntil(c.row, tenants.get(c.row.tenant_id), at);
    if (until === null) go.push(c);
    else held.push({ row: c.row, until, msgs: c.msgs });
  }
  if (held.length === 0) return go;
  await env.DB.batch(quietHoldStatements(env.DB, held, at));
  for (const h of held) for (const m of h.msgs) m.ack();
  return go;
}
