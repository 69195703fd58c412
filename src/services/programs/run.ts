import { programRuns } from "../../db/schema";
import { newId } from "../../lib/ids";
import { HttpProblem } from "../../lib/problem";
import { nowIso } from "../../lib/time";
import type { ServiceContext } from "../context";
import { countAudience, forEachAudiencePage } from "./audience";
import { sendOccurrences } from "./execute";
import { getProgram } from "./programs";
import { loadTenant } from "./scope";

/** Messages written per createMessages call: one page of the audience. */
export const RUN_PAGE = 100;

/**
 * `POST /v1/programs/{id}/run`: one message per audience contact, written in pages. The
 * occurrence key `pg:run:ct` makes a retried page (or a replayed request) write nothing twice.
 */
export async function runProgram(
  ctx: ServiceContext,
  id: string,
): Promise<{ run_id: string; audience_count: number }> {
  const program = await getProgram(ctx, id);
  if (program.status !== "active")
    throw new HttpProblem("conflict", `This program is ${program.status}; only an active program can run`);
  const tenant = await loadTenant(ctx);
  const runId = newId("run");
  const audienceCount = await countAudience(ctx, program);
  const now = nowIso();
  await ctx.db.insert(programRuns).values({
    id: runId,
    tenantId: ctx.tenantId,
    programId: program.id,
    audienceCount,
    createdAt: now,
    updatedAt: now,
  });
  await forEachAudiencePage(ctx, program, RUN_PAGE, async (page) => {
    await sendOccurrences(
      ctx,
      program,
      tenant,
      page.map((contact) => ({ contact, occurrenceKey: `${program.id}:${runId}:${contact.id}`, runId })),
    );
  });
  return { run_id: runId, audience_count: audienceCount };
}
