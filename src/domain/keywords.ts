/** Inbound SMS keyword families (PRODUCT.md, Carrier callbacks — inbound keywords). */

export type KeywordKind = "stop" | "start" | "help";

const FAMILIES: Record<KeywordKind, readonly string[]> = {
  stop: [
    "STOP",
    "STOPALL",
    "STOP ALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "OPT OUT",
  ],
  start: ["START", "UNSTOP", "YES"],
  help: ["HELP", "INFO"],
};

const LOOKUP = new Map<string, KeywordKind>(
  (Object.entries(FAMILIES) as [KeywordKind, readonly string[]][]).flatMap(([kind, words]) =>
    words.map((w) => [w, kind] as const),
  ),
);

/**
 * Normalises an inbound text for keyword matching: upper-cased, punctuation and symbols removed,
 * runs of whitespace collapsed to one space, trimmed.
 *
 * @example normalizeKeywordText("  stop! ") // "STOP"
 * @example normalizeKeywordText("Opt-Out") // "OPTOUT"
 */
export function normalizeKeywordText(text: string): string {
  return (
    text
      .normalize("NFKC")
      .toUpperCase()
      // Emoji leave invisible joiners and variation selectors behind (❤️ is ❤ + U+FE0F): gone too.
      .replace(/\p{P}|\p{S}|\u200D|\uFE0E|\uFE0F/gu, "")
      .replace(/\s+/gu, " ")
      .trim()
  );
}

/**
 * The keyword family an inbound text belongs to, matched exactly after normalisation; null for
 * any other text (a sentence that merely contains STOP is not an opt-out).
 *
 * @example classifyKeyword(" Stop. ") // "stop"
 * @example classifyKeyword("opt out") // "stop"
 * @example classifyKeyword("please stop texting") // null
 */
export function classifyKeyword(text: string): KeywordKind | null {
  return LOOKUP.get(normalizeKeywordText(text)) ?? null;
}

/** Every keyword of every family (for tests and documentation). */
export const KEYWORD_FAMILIES = FAMILIES;
