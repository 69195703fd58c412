import type { DueJob } from "../services/programs/due-build";

/** Queue message bodies. Queues carry ids, never message bodies (D1 is the source of truth). */

/** Dispatch queue: one outbox row to send. */
export interface DispatchJob {
  messageId: string;
}

/** Work queue: background jobs other than dispatch. */
export type WorkJob =
  | { kind: "hook"; deliveryId: string }
  | { kind: "webhook"; deliveryId: string }
  /** The rest of a `POST /v1/programs/{id}/run` audience, continued from the run's cursor. */
  | { kind: "run"; runId: string }
  /** The rest of a program's due rows (attribute dates, schedules in each contact's zone), from the build's cursor. */
  | ({ kind: "due" } & DueJob);
