import type { ServiceContext } from "../context";
import { cancelPendingMessages } from "../messages/create";

/** Cancels a program's pending messages, for one contact (`exit_on`) or all of them (archive). */
export async function cancelProgramPending(
  ctx: ServiceContext,
  programId: string,
  contactId: string | null,
  detail: string,
): Promise<number> {
  return cancelPendingMessages(ctx, contactId ? { programId, contactId } : { programId }, {
    reason: contactId ? "exited" : null,
    detail,
  });
}
