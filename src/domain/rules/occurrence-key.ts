/**
 * Sending rule 2 (occurrence dedupe): a program sends at most once per contact per occurrence. The
 * key is unique per tenant in D1, so a queue redelivery, a second tick or a replayed event finds it
 * taken and creates nothing. Every door that creates program messages builds its key here.
 *
 * The spellings are stored in existing rows: changing one would let an occurrence already sent be
 * sent again, so they stay exactly as they are (two orders, for historical reasons).
 */
export const occurrenceKey = {
  /** A yearly birthday: one per contact per year. @example occurrenceKey.birthday("pg_1", "ct_1", 2026) // "pg_1:ct_1:2026" */
  birthday: (programId: string, contactId: string, year: number): string =>
    `${programId}:${contactId}:${year}`,
  /** A materialised due row (`attributes.<date>`, per-contact schedules): its occurrence label. */
  dueRow: (programId: string, contactId: string, occurrence: string): string =>
    `${programId}:${contactId}:${occurrence}`,
  /** A fixed-zone schedule: one per cron run per contact. */
  scheduleRun: (programId: string, runAt: string, contactId: string): string =>
    `${programId}:${runAt}:${contactId}`,
  /** `POST /v1/programs/{id}/run`: one per run per contact. */
  manualRun: (programId: string, runId: string, contactId: string): string =>
    `${programId}:${runId}:${contactId}`,
  /** An event (`POST /v1/events`, storefront hooks): its identity makes the occurrence. */
  event: (programId: string, contactId: string, eventKey: string): string =>
    `${programId}:${contactId}:${eventKey}`,
  /** The `contact.created` trigger: once per contact, whichever door created it. */
  contactCreated: (programId: string, contactId: string): string =>
    `${programId}:${contactId}:contact.created`,
  /** The reply to an inbound keyword: once per carrier message (else per inbound row). */
  keywordReply: (inboundKey: string): string => `inbound-reply:${inboundKey}`,
} as const;
