/**
 * Sending rule 7 (send: which carrier), at dispatch: `carrier_id` if the message pins one, else the
 * tenant's carriers by ascending `priority` (failing over to the next not tried yet), else the
 * implicit sandbox. A pinned carrier that was deleted fails the message with `carrier_deleted`
 * (PRODUCT.md, DELETE); unpinned messages simply move to the next carrier.
 */

/** What the rule needs of a carrier row. */
export interface CarrierCandidate {
  id: string;
  tenantId: string;
  deletedAt: string | null;
}

export type CarrierChoice<C> =
  | { kind: "carrier"; carrier: C }
  | { kind: "sandbox" }
  | { kind: "pinned_carrier_deleted" };

/**
 * Next carrier by priority: the first not tried yet; once all were tried, the one tried longest ago.
 *
 * @example nextCarrier([{ id: "a" }, { id: "b" }], ["a"]) // { id: "b" }
 * @example nextCarrier([{ id: "a" }, { id: "b" }], ["a", "b"]) // { id: "a" }
 */
export function nextCarrier<T extends { id: string }>(
  active: readonly T[],
  tried: readonly string[],
): T | undefined {
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

/** Whether a pinned carrier can no longer carry the message: gone, another tenant's, or deleted. */
export const pinnedCarrierGone = (pinned: CarrierCandidate | undefined, tenantId: string): boolean =>
  !pinned || pinned.tenantId !== tenantId || pinned.deletedAt !== null;

/**
 * The carrier a message goes to now.
 *
 * @example chooseCarrier({ tenantId: "t", pinned: null, active: [], tried: [] }) // { kind: "sandbox" }
 */
export function chooseCarrier<C extends CarrierCandidate>(m: {
  tenantId: string;
  /** The pinned carrier's row (undefined when it no longer exists), or null when nothing is pinned. */
  pinned: C | undefined | null;
  /** The tenant's live carriers, by ascending priority. */
  active: readonly C[];
  tried: readonly string[];
}): CarrierChoice<C> {
  if (m.pinned !== null) {
    if (pinnedCarrierGone(m.pinned, m.tenantId) || !m.pinned) return { kind: "pinned_carrier_deleted" };
    return { kind: "carrier", carrier: m.pinned };
  }
  const next = nextCarrier(m.active, m.tried);
  return next ? { kind: "carrier", carrier: next } : { kind: "sandbox" };
}
