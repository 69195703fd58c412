/**
 * Every sending rule of PRODUCT.md ("Sending rules"), one pure module each, and the moment it is
 * applied. Creation (`services/messages/create/decide.ts`) and dispatch
 * (`pipeline/dispatch/recheck.ts`) call the same predicates: there is no second copy to drift.
 *
 * | rule | module              | moment              | predicate                                        |
 * |------|---------------------|---------------------|--------------------------------------------------|
 * | 1    | consent             | create + dispatch   | `consentDenial`                                  |
 * | 2    | occurrence-key      | create              | `occurrenceKey.*` (unique key in D1)             |
 * | 3    | content-dedupe      | create              | `isDuplicate`                                    |
 * | 4    | frequency-cap       | create              | `overFrequencyCap`                               |
 * | 5    | quiet-hours         | create + dispatch   | `quietUntil`                                     |
 * | —    | validity            | create + dispatch + sweep | `validUntil`, `validityEnded`, `movedDeadline` |
 * | —    | program-state       | create + dispatch   | `programHold`, `exitHolds`                       |
 * | 7    | carrier-choice      | dispatch            | `chooseCarrier`                                  |
 * | 9    | lease               | sweep               | `LEASE_MS`, `leaseCutoff`                        |
 *
 * Rule 6 (rate) lives behind `limits/interface.ts` (`TokenBuckets`); rule 8 (every message ends in a
 * final state) is the dispatcher's outcome classification (`pipeline/dispatch/outcome.ts`).
 */
export { type CarrierChoice, chooseCarrier, nextCarrier, pinnedCarrierGone } from "./carrier-choice";
export { type ConsentDenial, type ConsentFacts, consentDenial } from "./consent";
export { DEDUPE_STATUSES, isDuplicate } from "./content-dedupe";
export { CAP_STATUSES, type CapCounts, FL_OK_CAP, overFrequencyCap } from "./frequency-cap";
export { claimedLease, LEASE_MS, leaseCutoff, leaseRanOut } from "./lease";
export { occurrenceKey } from "./occurrence-key";
export { exitHolds, type ProgramHold, programHold } from "./program-state";
export {
  DEFAULT_QUIET_TENANT,
  type QuietRecipient,
  type QuietTenant,
  quietUntil,
  quietWindowsFor,
  recipientZones,
} from "./quiet-hours";
export {
  movedDeadline,
  occurrenceInValidity,
  validityEnded,
  validitySecondsLeft,
  validUntil,
} from "./validity";
