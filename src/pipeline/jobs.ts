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
  | ({ kind: "due" } & DueJob)
  /** One page of due occurrences the scheduler tick selected (`program_occurrence_pages` row). */
  | { kind: "occurrences"; tenantId: string; pageId: string };

/**
 * A build of one program's due rows, resumable from `after` (the last contact id written). It
 * names the program version it belongs to (trigger, activation): a build whose program was changed,
 * paused or archived meanwhile writes nothing more.
 */
export interface DueBuild {
  tenantId: string;
  programId: string;
  trigger: string;
  activatedAt: string | null;
  /** Occurrences due before this moment are not sent (no retroactive sends). */
  armedAt: string;
  /** Schedules start from their next run after this moment. */
  now: number;
  after: string;
}

/**
 * A work-queue continuation: the build's identity (its state is in D1). Messages sent before
 * builds were stored carry the whole `DueBuild` instead, and are still honoured.
 */
export type DueJob = { tenantId: string; programId: string; buildId: string } | DueBuild;
