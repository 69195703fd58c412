/**
 * A scheduler tick is a list of independent parts (the outbox recovery sweep, the programs,
 * purges …). Each runs on its own: one that throws is logged and the others still run, in order.
 * Adding a part (another lease sweep, say) is one more entry in the list.
 */
export interface TickPart {
  /** Short snake_case name, as it appears in the log. */
  name: string;
  run: () => Promise<unknown>;
}

/** Logs one failure of the scheduler as one JSON line (`scope` says what failed: a part, a program …). */
export function logTickFailure(scope: Record<string, string>, err: unknown): void {
  console.error(
    JSON.stringify({
      level: "error",
      message: "scheduler step failed",
      ...scope,
      error: err instanceof Error ? err.message : String(err),
    }),
  );
}

/** Runs every part in order, each isolated from the others; returns the names of those that threw. A part that resolves to a positive count is logged with it. */
export async function runTickParts(parts: readonly TickPart[]): Promise<string[]> {
  const failed: string[] = [];
  for (const part of parts) {
    try {
      const done = await part.run();
      // A sweep answers how many rows it rang again: worth a line when it did any.
      if (typeof done === "number" && done > 0)
        console.log(
          JSON.stringify({ level: "info", message: "scheduler part", part: part.name, count: done }),
        );
    } catch (err) {
      failed.push(part.name);
      logTickFailure({ part: part.name }, err);
    }
  }
  return failed;
}
