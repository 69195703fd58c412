import { DurableObject } from "cloudflare:workers";
import { type BucketState, refund, take } from "../domain/token-bucket";
import type { TakeGrant, TokenBuckets } from "./interface";

const KEY = "bucket";

/**
 * A token bucket (one object per bucket name). Capacity = rate (one second of burst), refilled
 * continuously. It only counts: it never calls a carrier, so one object answers thousands of takes
 * per second. State is kept in memory and written to the object's SQLite storage on every change,
 * so an evicted object comes back with the tokens it had rather than a fresh full bucket.
 */
export class RateLimiter extends DurableObject {
  private state: BucketState | undefined;
  private loaded = false;

  private current(): BucketState | undefined {
    if (!this.loaded) {
      this.state = this.ctx.storage.kv.get<BucketState>(KEY);
      this.loaded = true;
    }
    return this.state;
  }

  private save(state: BucketState): void {
    this.state = state;
    this.ctx.storage.kv.put(KEY, state);
  }

  /**
   * Takes up to `want` tokens at `rate` per second. `want` may be a list of per-message costs:
   * then the longest prefix that fits is granted, so no message is half-paid.
   */
  take(rate: number, want: number | number[], now: number = Date.now()): TakeGrant {
    if (!(rate > 0)) return { granted: 0, count: 0, retryAfterMs: 1000 };
    const r = take(this.current(), rate, want, now);
    this.save(r.state);
    return { granted: r.granted, count: r.count, retryAfterMs: r.retryAfterMs };
  }

  /** Returns tokens taken but not used (the other bucket of a message refused it: carrier pool or tenant). */
  refund(rate: number, n: number, now: number = Date.now()): void {
    if (!(rate > 0) || !(n > 0)) return;
    this.save(refund(this.current(), rate, n, now));
  }
}

/** The binding of the objects (wrangler.jsonc binds the `RateLimiter` class); only this folder names it. */
export interface RateLimiterBinding {
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
}

/** The buckets as Durable Objects: one RPC per take or refund, to the object named after the bucket. */
export function durableObjectBuckets(env: RateLimiterBinding): TokenBuckets {
  return {
    take: async (bucket, rate, costs, now) => {
      const g = await env.RATE_LIMITER.getByName(bucket).take(rate, costs, now);
      return { granted: g.granted, count: g.count, retryAfterMs: g.retryAfterMs };
    },
    refund: async (bucket, rate, n, now) => {
      await env.RATE_LIMITER.getByName(bucket).refund(rate, n, now);
    },
  };
}
