import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyKeyword, normalizeKeywordText } from "../../src/domain/keywords";

/** The product's keyword families (inbound keywords: matched exactly after normalisation). */
const CONTRACT = {
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
} as const;
const CONTRACT_WORDS = new Set<string>(Object.values(CONTRACT).flat());

const keywordEntry = fc.constantFrom(
  ...Object.entries(CONTRACT).flatMap(([kind, words]) => words.map((w) => [kind, w] as const)),
);
/** Whitespace, ASCII and typographic punctuation, symbols (emoji) around a keyword. */
const noise = fc
  .array(
    fc.constantFrom(
      " ",
      "\t",
      "\n",
      "\r",
      "\u00a0",
      ".",
      "!",
      "?",
      ",",
      ";",
      ":",
      "'",
      '"',
      "(",
      ")",
      "-",
      "*",
      "«",
      "»",
      "¡",
      "¿",
      "…",
      "👍",
      "❤",
      "❤️", // ❤ + U+FE0F (variation selector)
      "👨‍👩‍👧", // joined by U+200D
    ),
    {
      minLength: 0,
      maxLength: 5,
    },
  )
  .map((a) => a.join(""));
/** What may stand between the two words of STOP ALL / OPT OUT: whitespace runs or punctuation. */
const innerGap = fc.constantFrom(" ", "  ", "\t", " \n ", "-", "_", ".", "");
const letters = fc.stringMatching(/^[A-Za-z]{0,6}$/);
/** Ordinary words, none of which turns the sentence into a keyword by itself. */
const otherWord = fc
  .stringMatching(/^[A-Za-z]{1,8}$/)
  .filter(
    (w) => !CONTRACT_WORDS.has(w.toUpperCase()) && w.toUpperCase() !== "ALL" && w.toUpperCase() !== "OUT",
  );

describe("classifyKeyword", () => {
  it.each([
    ["STOP", "stop"],
    ["stop", "stop"],
    ["STOP❤️", "stop"],
    ["help 👍🏽", "help"],
    ["  Stop.  ", "stop"],
    ["STOP!", "stop"],
    ["stopall", "stop"],
    ["Stop All", "stop"],
    ["stop   all", "stop"],
    ["unsubscribe", "stop"],
    ["Cancel", "stop"],
    ["end", "stop"],
    ["QUIT", "stop"],
    ["revoke", "stop"],
    ["optout", "stop"],
    ["opt out", "stop"],
    ["Opt-Out", "stop"],
    ["opt-out!!", "stop"],
    ["\tSTOP\n", "stop"],
    ["START", "start"],
    ["start", "start"],
    ["Unstop", "start"],
    ["yes", "start"],
    ["Yes!", "start"],
    ["HELP", "help"],
    ["help?", "help"],
    ["Info", "help"],
    ["«help»", "help"],
  ] as const)("%j → %s", (text, kind) => {
    expect(classifyKeyword(text)).toBe(kind);
  });

  it.each([
    "please stop texting me",
    "stop it",
    "STOPP",
    "stop all now",
    "opt in",
    "yes please",
    "help me",
    "s t o p",
    "",
    "   ",
    "my order is late",
    "UNSUBSCRIBED",
  ])("%j is not a keyword", (text) => {
    expect(classifyKeyword(text)).toBeNull();
  });

  it("classifies exactly the product's keyword list and nothing else from it", () => {
    // The contract is written out above (not read from KEYWORD_FAMILIES), so a dropped word fails.
    for (const [kind, words] of Object.entries(CONTRACT)) {
      for (const word of words) expect(classifyKeyword(word), word).toBe(kind);
    }
  });

  it.each([
    ["stop please", null],
    ["i want to cancel my order", null],
    ["Please STOP", null],
    ["cancel", "stop"],
    ["CANCEL!!!", "stop"],
    ["I said END", null],
    ["help!", "help"],
    ["can you help", null],
    ["info?", "help"],
    ["more info", null],
    ["yes", "start"],
    ["yes, 2 tickets", null],
    ["start over", null],
    ["quit it", null],
    ["STOP 👍", "stop"],
    ["¡¿Stop?!", "stop"],
    ["opt\u00a0out", "stop"],
    ["stop\nall", "stop"],
    ["un-stop", "start"],
    ["STOPS", null],
    ["ending", null],
  ] as const)("what a subscriber texts: %j → %s", (text, kind) => {
    expect(classifyKeyword(text)).toBe(kind);
  });

  it("property: a keyword with any case, surrounding whitespace and punctuation classifies", () => {
    let decorated = 0;
    fc.assert(
      fc.property(
        keywordEntry,
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        noise,
        noise,
        innerGap,
        ([kind, word], upper, before, after, gap) => {
          const cased = [...word.replace(" ", gap)]
            .map((ch, i) => (upper[i % upper.length] ? ch.toUpperCase() : ch.toLowerCase()))
            .join("");
          const text = `${before}${cased}${after}`;
          if (text !== word) decorated += 1;
          expect(classifyKeyword(text), JSON.stringify(text)).toBe(kind);
        },
      ),
      { numRuns: 500 },
    );
    // The generator really produced decorated keywords, not just the bare words.
    expect(decorated).toBeGreaterThan(400);
  });

  it("property: a keyword inside a longer message is not a keyword", () => {
    let embedded = 0;
    fc.assert(
      fc.property(
        keywordEntry,
        fc.array(otherWord, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.constantFrom("", ".", "!", "?", ","),
        ([, word], others, at, end) => {
          const words = [...others];
          words.splice(at % (words.length + 1), 0, word.toLowerCase());
          const text = `${words.join(" ")}${end}`;
          embedded += 1;
          expect(classifyKeyword(text), JSON.stringify(text)).toBeNull();
        },
      ),
      { numRuns: 500 },
    );
    expect(embedded).toBeGreaterThan(400);
  });

  it("property: a keyword glued to other letters is not a keyword", () => {
    let glued = 0;
    fc.assert(
      fc.property(keywordEntry, letters, letters, ([, word], pre, post) => {
        fc.pre(pre.length + post.length > 0);
        const text = `${pre}${word}${post}`;
        // UN+STOP, STOP+ALL, OPT+OUT … spell another keyword of the contract: not this property.
        fc.pre(!CONTRACT_WORDS.has(text.toUpperCase()));
        glued += 1;
        expect(classifyKeyword(text), JSON.stringify(text)).toBeNull();
      }),
      { numRuns: 500 },
    );
    expect(glued).toBeGreaterThan(400);
  });

  it("is stable under normalisation (idempotent)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        const once = normalizeKeywordText(text);
        expect(normalizeKeywordText(once)).toBe(once);
        expect(classifyKeyword(once)).toBe(classifyKeyword(text));
      }),
    );
  });

  it("a keyword followed by more words is not a keyword (exact match)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("STOP", "START", "HELP", "YES", "END"),
        fc.stringMatching(/^[A-Za-z]{2,8}$/),
        (word, extra) => {
          fc.pre(!(word === "STOP" && extra.toUpperCase() === "ALL"));
          expect(classifyKeyword(`${word} ${extra}`)).toBeNull();
        },
      ),
    );
  });
});
