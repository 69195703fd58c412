import type { Env } from "../env";
import type { DispatchJob } from "./jobs";

/** Dispatch queue consumer. PLACEHOLDER until the sending work lands (issue 3). */
export async function handleDispatchBatch(
  _batch: MessageBatch<DispatchJob>,
  _env: Env,
  _ctx: ExecutionContext,
): Promise<void> {}

/** Dead-letter consumer: exhausted messages become failed. PLACEHOLDER (issue 3). */
export async function handleDispatchDeadLetters(
  _batch: MessageBatch<DispatchJob>,
  _env: Env,
): Promise<void> {}

/**
 * Outbox sweep run by every scheduler tick: releases due `scheduled` rows, re-rings `queued` rows whose
 * lease ran out 2+ minutes ago, expires rows past validity, ends `sending` rows past validity as
 * failed/unknown_outcome. PLACEHOLDER (issue 3).
 */
export async function sweepOutbox(_env: Env, _now: number): Promise<void> {}
