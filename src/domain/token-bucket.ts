/** A token bucket's state: tokens left at a moment (ms since epoch). */
export interface BucketState {
  tokens: number;
  at: number;
}

export interface TakeResult {
  /** Tokens granted (the sum of the granted costs when costs were given one by one). */
  granted: number;
  /** How many of the requested costs were granted (a prefix); equals `granted` for a plain count. */
  count: number;
  /** When the first cost not granted could be granted, if nobody else takes tokens meanwhile (0 when all were granted). */
  retryAfterMs: number;
  state: BucketState;
}

/**
 * Refills a bucket of capacity `rate` (one second's worth of burst) continuously up to `now`.
 *
 * @example refill({ tokens: 0, at: 0 }, 10, 500) // → { tokens: 5, at: 500 }
 */
export function refill(state: BucketState | undefined, rate: number, now: number): BucketState {
  const capacity = Math.max(1, rate);
  if (!state) return { tokens: capacity, at: now };
  // A clock that went backwards never mints tokens.
  const elapsed = Math.max(0, now - state.at);
  return { tokens: Math.min(capacity, state.tokens + (elapsed * rate) / 1000), at: Math.max(now, state.at) };
}

/**
 * Takes tokens: `want` as a count grants up to that many (partial grants allowed); `want` as a list
 * of costs grants the longest prefix that fits, so a message is never half-paid. A cost above the
 * capacity is charged the capacity (a long message still goes, at most once per full bucket).
 *
 * @example take(undefined, 5, 8, 0) // → granted 5, retryAfterMs 200, tokens 0
 */
export function take(
  state: BucketState | undefined,
  rate: number,
  want: number | readonly number[],
  now: number,
): TakeResult {
  const capacity = Math.max(1, rate);
  const s = refill(state, rate, now);
  const costs =
    typeof want === "number" ? null : want.map((c) => Math.min(capacity, Math.max(0, Math.ceil(c))));
  let granted = 0;
  let count = 0;
  let nextCost = 0;
  if (costs === null) {
    const n = Math.max(0, Math.floor(want as number));
    granted = Math.min(n, Math.floor(s.tokens + 1e-9));
    count = granted;
    nextCost = granted < n ? 1 : 0;
  } else {
    for (const c of costs) {
      if (granted + c > s.tokens + 1e-9) {
        nextCost = c;
        break;
      }
      granted += c;
      count += 1;
    }
  }
  const tokens = Math.max(0, s.tokens - granted);
  const retryAfterMs = nextCost > 0 ? Math.ceil(((nextCost - tokens) * 1000) / Math.max(rate, 1e-9)) : 0;
  return { granted, count, retryAfterMs: Math.max(0, retryAfterMs), state: { tokens, at: s.at } };
}

/** Gives back tokens taken but not used (capped at the capacity). */
export function refund(state: BucketState | undefined, rate: number, n: number, now: number): BucketState {
  const s = refill(state, rate, now);
  return { tokens: Math.min(Math.max(1, rate), s.tokens + Math.max(0, n)), at: s.at };
}
