import type { ServiceContext } from "../context";

export interface EventInput {
  name: string;
  contact: { id: string } | { phone: string } | { external_id: string };
  data?: Record<string, unknown>;
  occurred_at?: string;
}

export interface EventProgramOutcome {
  program_id: string;
  message_id: string | null;
  outcome: string;
}

export interface IngestedEvent {
  id: string;
  name: string;
  contact_id: string;
  programs: EventProgramOutcome[];
}

/**
 * Records an event and runs every active program triggered by its name for that contact (a new
 * phone creates the contact); `exit_on` matches cancel. Used by POST /v1/events and storefront hooks.
 * PLACEHOLDER until the programs work lands (issue 4).
 */
export async function ingestEvent(
  _ctx: ServiceContext,
  _input: EventInput,
  _source: { kind: "api" | "shopify" | "standard_hook"; marketingOptIn?: boolean },
): Promise<IngestedEvent> {
  throw new Error("ingestEvent: not implemented yet");
}
