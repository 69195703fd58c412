// Writes D1: runs the lease sweeps' release statements (each moves the leases of the rows it re-rings).
import { leaseCutoff } from "../../domain/rules/lease";
import type { Env } from "../../env";
import { iso } from "../../lib/time";

/**
 * Runs one lease sweep: `sql` is an `UPDATE … RETURNING` that releases up to `?3` rows whose lease is
 * before the cut-off `?2` and leases them again at `?1` (now); each page's rows are rung with
 * `ring` before the next page is released. Stops at a short page or after `maxPages` (the rest wait
 * a tick). Returns how many rows it released.
 */
export async function releaseInPages<R>(
  env: Env,
  sql: string,
  now: number,
  ring: (rows: R[]) => Promise<void>,
  bounds: { page: number; maxPages: number },
): Promise<number> {
  let total = 0;
  for (let i = 0; i < bounds.maxPages; i++) {
    const { results } = await env.DB.prepare(sql).bind(iso(now), leaseCutoff(now), bounds.page).all<R>();
    await ring(results);
    total += results.length;
    if (results.length < bounds.page) break;
  }
  return total;
}
