import type { TokenBuckets } from "./interface";

/** Buckets that never run dry: for callers that must not be paced (and for tests of everything else). */
export const noopBuckets: TokenBuckets = {
  take: async (_bucket, _rate, costs) => ({
    granted: costs.reduce((s, c) => s + c, 0),
    count: costs.length,
    retryAfterMs: 0,
  }),
  refund: async () => {},
};
