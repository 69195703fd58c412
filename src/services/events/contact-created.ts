import type { contacts } from "../../db/schema";
import type { ServiceContext } from "../context";

type ContactRow = typeof contacts.$inferSelect;

/**
 * Runs the programs triggered by `contact.created` for newly created contacts. Called by every
 * creation path (API, batch, hooks, events) and never on update.
 * PLACEHOLDER until the programs work lands (issue 4).
 */
export async function fireContactCreated(_ctx: ServiceContext, _created: ContactRow[]): Promise<void> {}
