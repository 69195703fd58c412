/** Retry policy of the dispatcher (PRODUCT.md, Sending rules 7–8). */
export const MAX_SEND_ATTEMPTS = 8;
export const BACKOFF_BASE_MS = 2_000;
export const BACKOFF_CAP_MS = 600_000;
/** Queues accept delays up to 12 h. */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;

/**
 * Delay before the next carrier attempt, in whole seconds (queue delays are whole seconds):
 * exponential backoff with full jitter (base 2 s, cap 10 min), never shorter than the carrier's
 * `Retry-After`, never shorter than one second.
 *
 * @example retryDelaySeconds(1, undefined, () => 0.5) // → 1 (jitter in [0, 2 s))
 * @example retryDelaySeconds(3, 30, () => 0) // → 30 (Retry-After wins)
 */
export function retryDelaySeconds(
  attempt: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(random() * ceiling);
  const floor = Math.max(0, retryAfterSeconds ?? 0) * 1000;
  const ms = Math.max(jittered, floor, 1000);
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.ceil(ms / 1000));
}
