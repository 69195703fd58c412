/**
 * Sending rule 4 (frequency cap), marketing only, at creation: over the tenant's `frequency_cap` in
 * its rolling window → `frequency_cap`. Florida and Oklahoma numbers: at most 3 per 24 h.
 */

/** States that count against the cap: waiting to go out, or gone. */
export const CAP_STATUSES = ["scheduled", "queued", "sending", "sent", "delivered", "undelivered"] as const;
/** Florida and Oklahoma: at most this many marketing messages per 24 h, whatever the tenant allows. */
export const FL_OK_CAP = { max: 3, windowHours: 24 } as const;

/** Marketing messages already counted for one phone: in the tenant's window and in the last 24 h. */
export interface CapCounts {
  inWindow: number;
  inDay: number;
}

export interface CapFacts {
  category: string;
  keywordReply: boolean;
  counts: CapCounts;
  /** The tenant's `frequency_cap.max_messages`. */
  max: number;
  floridaOrOklahoma: boolean;
}

/**
 * Whether one more marketing message would go over the cap.
 *
 * @example overFrequencyCap({ category: "marketing", keywordReply: false, counts: { inWindow: 1, inDay: 3 }, max: 5, floridaOrOklahoma: true }) // true
 */
export function overFrequencyCap(f: CapFacts): boolean {
  if (f.category !== "marketing" || f.keywordReply) return false;
  return f.counts.inWindow >= f.max || (f.floridaOrOklahoma && f.counts.inDay >= FL_OK_CAP.max);
}
