/**
 * Sending rule 1 (consent), decided at creation and checked again at dispatch with the same facts:
 * an unsubscribed phone → `opted_out`; a marketing message also needs the contact's
 * `marketing_opt_in` — a message without a contact has no opt-in → `no_consent`, at both moments.
 * Keyword replies (STOP, HELP, START confirmations) skip it.
 */
export type ConsentDenial = "opted_out" | "no_consent";

export interface ConsentFacts {
  keywordReply: boolean;
  category: string;
  /** The contact's `subscribed` switch is off, or the phone is on the tenant's kept opt-out list. */
  optedOut: boolean;
  /** The contact's `marketing_opt_in`; null when the message has no contact. */
  marketingOptIn: boolean | null;
}

/**
 * Why consent forbids this message, or null when it allows it.
 *
 * @example consentDenial({ keywordReply: false, category: "marketing", optedOut: false, marketingOptIn: null }) // "no_consent"
 */
export function consentDenial(f: ConsentFacts): ConsentDenial | null {
  if (f.keywordReply) return null;
  if (f.optedOut) return "opted_out";
  if (f.category === "marketing" && f.marketingOptIn !== true) return "no_consent";
  return null;
}
