import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyKeyword, KEYWORD_FAMILIES, normalizeKeywordText } from "../../src/domain/keywords";

describe("classifyKeyword", () => {
  it.each([
    ["STOP", "stop"],
    ["stop", "stop"],
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

  it("ignores case, surrounding space and punctuation for every keyword of every family", () => {
    const entries = Object.entries(KEYWORD_FAMILIES).flatMap(([kind, words]) =>
      words.map((w) => [kind, w] as const),
    );
    const spaces = fc.stringMatching(/^[ \t\n]{0,3}$/);
    const punct = fc.stringMatching(/^[.!?,;:'"()\-*]{0,3}$/);
    fc.assert(
      fc.property(
        fc.constantFrom(...entries),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        spaces,
        punct,
        punct,
        spaces,
        ([kind, word], upper, s1, p1, p2, s2) => {
          const cased = [...word]
            .map((ch, i) => (upper[i % upper.length] ? ch.toUpperCase() : ch.toLowerCase()))
            .join("");
          expect(classifyKeyword(`${s1}${p1}${cased}${p2}${s2}`)).toBe(kind);
        },
      ),
    );
  });

  it("never classifies a text whose letters are not exactly a keyword", () => {
    const all = new Set(Object.values(KEYWORD_FAMILIES).flat());
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (text) => {
        const kind = classifyKeyword(text);
        if (kind !== null) expect(all.has(normalizeKeywordText(text))).toBe(true);
        else expect(all.has(normalizeKeywordText(text))).toBe(false);
      }),
    );
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
