import type { SendResult } from "../../carriers/types";
import { MAX_SEND_ATTEMPTS, retryDelaySeconds } from "../../domain/backoff";

/**
 * What a carrier call comes to for the outbox (rules 7–8): every outcome is a final state, a
 * retry, or — when the carrier may have the message — a wait for its callback.
 */
export type Outcome =
  /** Accepted. */
  | { kind: "sent"; carrierMessageId: string }
  /** Accepted and reported delivered in the same answer (the sandbox). */
  | { kind: "delivered"; carrierMessageId: string }
  /** A permanent refusal (invalid number, landline, opted out at the carrier): never retried. */
  | { kind: "failed"; errorCode: string; errorMessage: string; optedOut: boolean }
  /** The carrier may have it: stays `sending` until its callback or the end of its validity. */
  | { kind: "unknown"; errorCode: string; errorMessage: string }
  /** Retryable: again after the backoff (honouring Retry-After), on the next carrier. */
  | { kind: "retry"; delaySeconds: number; errorCode: string; errorMessage: string }
  /** Retryable, but that was the last of MAX_SEND_ATTEMPTS. */
  | { kind: "exhausted"; attempts: number; errorCode: string; errorMessage: string };

/**
 * Classifies a carrier result after `attempts` attempts (this one included).
 *
 * @example classifyOutcome({ outcome: "retryable", errorCode: "503", errorMessage: "down" }, 8) // { kind: "exhausted", … }
 */
export function classifyOutcome(
  result: SendResult,
  attempts: number,
  random: () => number = Math.random,
): Outcome {
  if (result.outcome === "accepted")
    return result.status === "delivered"
      ? { kind: "delivered", carrierMessageId: result.carrierMessageId }
      : { kind: "sent", carrierMessageId: result.carrierMessageId };
  const { errorCode, errorMessage } = result;
  if (result.outcome === "permanent")
    return { kind: "failed", errorCode, errorMessage, optedOut: result.optedOut === true };
  if (result.maybeAccepted) return { kind: "unknown", errorCode, errorMessage };
  if (attempts >= MAX_SEND_ATTEMPTS) return { kind: "exhausted", attempts, errorCode, errorMessage };
  return {
    kind: "retry",
    delaySeconds: retryDelaySeconds(attempts, result.retryAfterSeconds, random),
    errorCode,
    errorMessage,
  };
}
