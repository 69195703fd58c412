import type { ServiceContext } from "../context";
import { getProgram } from "./programs";

export interface ProgramStats {
  messages: Record<string, number>;
  suppressed_by_reason: Record<string, number>;
  segments_sent: number;
}

const HANDED_TO_CARRIER = new Set(["sent", "delivered", "undelivered"]);

/** Messages of a program by status and suppression reason, and the segments carriers accepted (one grouped query). */
export async function programStats(ctx: ServiceContext, id: string): Promise<ProgramStats> {
  await getProgram(ctx, id);
  const { results } = await ctx.env.DB.prepare(
    `SELECT status, status_reason AS reason, count(*) AS n, coalesce(sum(segments), 0) AS segs
     FROM messages WHERE program_id = ? AND tenant_id = ? GROUP BY status, status_reason`,
  )
    .bind(id, ctx.tenantId)
    .all<{ status: string; reason: string | null; n: number; segs: number }>();
  const out: ProgramStats = { messages: {}, suppressed_by_reason: {}, segments_sent: 0 };
  for (const r of results) {
    out.messages[r.status] = (out.messages[r.status] ?? 0) + r.n;
    if (r.status === "suppressed" && r.reason)
      out.suppressed_by_reason[r.reason] = (out.suppressed_by_reason[r.reason] ?? 0) + r.n;
    if (HANDED_TO_CARRIER.has(r.status)) out.segments_sent += r.segs;
  }
  return out;
}
