import type { Env } from "../env";
import type { WorkJob } from "./jobs";

/** Work queue consumer (storefront hooks, outbound webhook deliveries). PLACEHOLDER (issue 5). */
export async function handleWorkBatch(
  _batch: MessageBatch<WorkJob>,
  _env: Env,
  _ctx: ExecutionContext,
): Promise<void> {}

/** Work dead-letter consumer. PLACEHOLDER (issue 5). */
export async function handleWorkDeadLetters(_batch: MessageBatch<WorkJob>, _env: Env): Promise<void> {}
