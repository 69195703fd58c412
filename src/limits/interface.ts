/**
 * Token buckets (PRODUCT.md, Sending rule 6): one bucket per name (`carrier:<id>` for a sender
 * pool, `tenant:<id>` for a tenant), capacity = one second of `rate`. Callers ask this interface;
 * only its implementations know where the buckets live (`durable-object.ts`, `noop.ts`).
 */
export interface TakeGrant {
  /** Tokens granted (segments). */
  granted: number;
  /** How many of the costs were granted (a prefix). */
  count: number;
  /** Wait before asking again for the first cost not granted (0 when everything was granted). */
  retryAfterMs: number;
}

export interface TokenBuckets {
  /** Takes the longest prefix of `costs` that fits, so no message is half-paid. */
  take(bucket: string, rate: number, costs: number[], now: number): Promise<TakeGrant>;
  /** Gives back tokens taken but not used (the other bucket of a message refused it). */
  refund(bucket: string, rate: number, n: number, now: number): Promise<void>;
}
