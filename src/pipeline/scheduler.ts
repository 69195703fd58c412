import type { Env } from "../env";
import { sweepOutbox } from "./dispatch";

/** The `* * * * *` cron: programs due since the last tick (issue 4), then the outbox sweep. */
export async function runScheduler(env: Env, scheduledTime: number): Promise<void> {
  await sweepOutbox(env, scheduledTime);
}
