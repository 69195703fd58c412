/**
 * Revocation in other words (PRODUCT.md, Carrier callbacks; FCC 47 CFR 64.1200(a)(10)): a reply a
 * reasonable person reads as "stop texting me" revokes consent even when it is not an exact
 * keyword. Pure and table-driven (`revocation-tables.ts`): the reply is cut into clauses where
 * people put a break (sentence punctuation, commas, dashes, line breaks, emoji), each clause is
 * normalised (case, accents, apostrophes, common SMS spellings), and the reply revokes when any
 * one clause does:
 *
 * 1. a **bare clause** — only an opt-out word plus politeness ("STOP", "stop please", "i said
 *    stop", "no more", "remove me", "baja por favor"); the same word with anything else in its
 *    clause ("my bus stop is on Elm", "cancel my order") is not one. A keyword after a complaint
 *    ("why do you keep texting me? STOP") revokes; one taken back by the next clause ("stop! I
 *    mean, wait…") does not;
 * 2. a **phrase** — a request to stop the texts ("please stop texting me", "take me off your
 *    list", "no más mensajes"), unless a negation stands just before it ("don't unsubscribe me",
 *    "you won't stop texting me" — a complaint, the rest of the reply may still revoke);
 * 3. unless a **veto** in that same clause takes its opt-outs back ("…but keep texting me", "no me
 *    des de baja"), or the clause is about something else to leave and not the texts
 *    ("unsubscribe me from the emails", "take me off the waitlist").
 *
 * A veto never reaches into another clause: "don't stop the delivery" alone is no opt-out, and
 * neither is "keep texting me" — but they do not cancel a request elsewhere in the reply.
 * English and Spanish (and the two mixed). Exact keywords are matched before this runs
 * (`classifyKeyword`); this function also accepts them.
 */

import {
  BARE_WORDS,
  CLAUSE_VETOES,
  CONJUNCTION,
  FILLERS,
  MENTIONS_TEXTS,
  NEGATION,
  OTHER_SCOPE,
  PHRASES,
  RETRACTION,
  SPELLINGS,
} from "./revocation-tables";

export interface RevocationMatch {
  /** Which table entry matched (for logs and tests). */
  rule: string;
}

/**
 * Lower case, accents and apostrophes gone, a "#" not before digits read as "number" ("wrong #"),
 * every non-letter/digit a space, spellings mapped.
 */
export function normalizeReply(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/['’‘`´]/gu, "")
    .replace(/#(?!\s*\d)/gu, " number ")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim()
    .split(" ")
    .map((w) => (Object.hasOwn(SPELLINGS, w) ? (SPELLINGS[w] as string) : w))
    .join(" ");
}

/** Clauses, split where people put a break: sentence punctuation, commas, dashes, line breaks, emoji. */
function clauses(text: string): string[] {
  return text
    .split(/[.,;:!?¡¿\n\r—–]+|\s-\s|[\p{Extended_Pictographic}]/u)
    .map(normalizeReply)
    .filter((c) => c.length > 0);
}

function isBareClause(clause: string): boolean {
  const words = clause.split(" ").filter((w) => !FILLERS.has(w));
  return words.length > 0 && BARE_WORDS.has(words.join(" "));
}

/** The phrases, global so every occurrence in a clause is looked at (matchAll copies the regex). */
const EVERY_PHRASE = PHRASES.map(([rule, pattern]) => [rule, new RegExp(pattern.source, "g")] as const);

/**
 * The first phrase in the clause that no negation reaches. A negation just before a phrase
 * ("don't take me off your list") reaches to the next conjunction or the clause's end, so the
 * phrases inside it ("off your list") are taken back too, but not a request after "but" or "so".
 */
function phraseIn(clause: string): string | null {
  const found = EVERY_PHRASE.flatMap(([rule, pattern]) =>
    [...clause.matchAll(pattern)].map((m) => ({ rule, start: m.index, end: m.index + m[0].length })),
  );
  const negated = found
    .filter((m) => NEGATION.test(clause.slice(0, m.start)))
    .map((m) => {
      const next = CONJUNCTION.exec(clause.slice(m.end));
      return { start: m.start, end: next ? m.end + next.index : clause.length };
    });
  const live = found.find((m) => !negated.some((n) => m.start >= n.start && m.start < n.end));
  return live ? live.rule : null;
}

/** A veto in the clause, or a clause about leaving something other than the texts. */
const vetoed = (clause: string): boolean =>
  CLAUSE_VETOES.some(([, pattern]) => pattern.test(clause)) ||
  (OTHER_SCOPE.test(clause) && !MENTIONS_TEXTS.test(clause));

function clauseRule(clause: string, next: string | undefined): string | null {
  if (vetoed(clause)) return null;
  const rule = phraseIn(clause);
  if (rule) return rule;
  if (isBareClause(clause) && !(next && RETRACTION.test(next))) return "bare-clause";
  return null;
}

/**
 * Whether an inbound reply revokes consent, and by which rule; null when it does not.
 *
 * @example classifyRevocation("please stop texting me") // { rule: "stop-texting" }
 * @example classifyRevocation("no más mensajes") // { rule: "no-mas" }
 * @example classifyRevocation("Why do you guys keep texting me? STOP") // { rule: "bare-clause" }
 * @example classifyRevocation("can I cancel my order?") // null
 * @example classifyRevocation("drop me a text when it ships") // null
 * @example classifyRevocation("don't stop the delivery") // null
 */
export function classifyRevocation(text: string): RevocationMatch | null {
  const parts = clauses(text);
  for (const [i, clause] of parts.entries()) {
    const rule = clauseRule(clause, parts[i + 1]);
    if (rule) return { rule };
  }
  return null;
}

/** True when the reply revokes consent (see `classifyRevocation`). */
export const isRevocation = (text: string): boolean => classifyRevocation(text) !== null;
