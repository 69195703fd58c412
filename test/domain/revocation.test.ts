import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyKeyword, KEYWORD_FAMILIES } from "../../src/domain/keywords";
import { classifyRevocation, isRevocation, normalizeReply } from "../../src/domain/revocation";
import { REVOCATION_CORPUS } from "./revocation-corpus";
import { REVOCATION_HOLDOUT } from "./revocation-holdout";

interface Score {
  n: number;
  precision: number;
  recall: number;
  falsePositives: string[];
  falseNegatives: string[];
}

function score(set: readonly (readonly [string, boolean])[]): Score {
  let tp = 0;
  const falsePositives: string[] = [];
  const falseNegatives: string[] = [];
  for (const [text, revokes] of set) {
    const predicted = isRevocation(text);
    if (predicted && revokes) tp += 1;
    else if (predicted) falsePositives.push(text);
    else if (revokes) falseNegatives.push(text);
  }
  return {
    n: set.length,
    precision: tp / (tp + falsePositives.length),
    recall: tp / (tp + falseNegatives.length),
    falsePositives,
    falseNegatives,
  };
}

const fmt = (s: Score) => `n=${s.n} precision=${s.precision.toFixed(3)} recall=${s.recall.toFixed(3)}`;
const corpus = score(REVOCATION_CORPUS);
const holdout = score(REVOCATION_HOLDOUT);

describe("revocation classifier on the labelled corpus", () => {
  it("the corpus is large and balanced enough to mean something", () => {
    expect(REVOCATION_CORPUS.length).toBeGreaterThanOrEqual(200);
    const positives = REVOCATION_CORPUS.filter(([, y]) => y).length;
    expect(positives).toBeGreaterThanOrEqual(80);
    expect(REVOCATION_CORPUS.length - positives).toBeGreaterThanOrEqual(80);
    const texts = REVOCATION_CORPUS.map(([t]) => t);
    expect(new Set(texts).size).toBe(texts.length);
  });

  // The figures are in the test names so every run reports them (logs of passing tests are hidden).
  it(`main corpus: ${fmt(corpus)}`, () => {
    console.log(`revocation corpus: ${fmt(corpus)}`, corpus.falsePositives, corpus.falseNegatives);
    expect(corpus.precision).toBeGreaterThanOrEqual(0.95);
    expect(corpus.recall).toBeGreaterThanOrEqual(0.95);
  });

  it(`second set: ${fmt(holdout)}`, () => {
    console.log(`revocation second set: ${fmt(holdout)}`, holdout.falsePositives, holdout.falseNegatives);
    expect(holdout.precision).toBeGreaterThanOrEqual(0.95);
    expect(holdout.recall).toBeGreaterThanOrEqual(0.95);
  });
});

describe("classifyRevocation", () => {
  it.each([
    "please stop texting me",
    "remove me from your list",
    "take me off",
    "unsubscribe me",
    "no more texts",
    "don't text me again",
    "wrong number, stop",
    "no más mensajes",
    "baja",
  ])("PRODUCT.md's revocation %j unsubscribes", (text) => {
    expect(classifyRevocation(text)).not.toBeNull();
  });

  it.each([
    "can I cancel my order?",
    "my bus stop is on Elm",
    "when does the sale end?",
    "don't stop the delivery",
  ])("PRODUCT.md's false friend %j does not", (text) => {
    expect(classifyRevocation(text)).toBeNull();
  });

  it("names the rule that matched", () => {
    expect(classifyRevocation("Please stop texting me")).toEqual({ rule: "stop-texting" });
    expect(classifyRevocation("stop please 🙏")).toEqual({ rule: "bare-clause" });
  });

  it("accepts every STOP-family keyword and none of the START or HELP ones", () => {
    for (const word of KEYWORD_FAMILIES.stop) expect(isRevocation(word), word).toBe(true);
    for (const word of [...KEYWORD_FAMILIES.start, ...KEYWORD_FAMILIES.help])
      expect(isRevocation(word), word).toBe(false);
  });

  it("a veto wins wherever it stands: asking to keep the texts never opts out", () => {
    const requests = ["stop texting me", "unsubscribe me", "remove me from your list"];
    fc.assert(
      fc.property(
        fc.constantFrom(...requests),
        fc.constantFrom("keep texting me", "don't stop", "do not cancel"),
        fc.boolean(),
        (request, veto, vetoFirst) => {
          const text = vetoFirst ? `${veto}, ${request}` : `${request} but ${veto}`;
          expect(isRevocation(text)).toBe(false);
        },
      ),
    );
  });

  it("is blind to case, accents, apostrophes, emoji and surrounding punctuation", () => {
    const texts = REVOCATION_CORPUS.map(([t]) => t);
    fc.assert(
      fc.property(
        fc.constantFrom(...texts),
        fc.constantFrom("", " ", "!!", "...", " 🙏", " 😡😡", "\n"),
        fc.boolean(),
        (text, tail, upper) => {
          const variant = `${upper ? text.toUpperCase() : text.toLowerCase()}${tail}`;
          expect(isRevocation(variant)).toBe(isRevocation(text));
        },
      ),
    );
    expect(isRevocation("NO MÁS MENSAJES")).toBe(isRevocation("no mas mensajes"));
    expect(isRevocation("don’t text me again")).toBe(true);
  });

  it("normalisation is idempotent and never throws, on any text up to the 1,600-character limit", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 1600, unit: "grapheme" }), (text) => {
        const once = normalizeReply(text);
        expect(normalizeReply(once)).toBe(once);
        expect(typeof isRevocation(text)).toBe("boolean");
      }),
      { numRuns: 200 },
    );
  });

  it("stays fast on long hostile input (no pathological backtracking)", () => {
    const hostile = [
      "stop ".repeat(320),
      "no more ".repeat(200),
      `${"dont ".repeat(300)}x`,
      "a".repeat(1600),
      "stop, ".repeat(266),
    ];
    const start = Date.now();
    for (const text of hostile) isRevocation(text);
    expect(Date.now() - start).toBeLessThan(200);
  });

  it("an exact keyword is never contradicted: STOP-family keywords classify the same both ways", () => {
    fc.assert(
      fc.property(fc.constantFrom(...KEYWORD_FAMILIES.stop), fc.stringMatching(/^[ .!]{0,3}$/), (w, p) => {
        expect(classifyKeyword(`${w}${p}`)).toBe("stop");
        expect(isRevocation(`${w}${p}`)).toBe(true);
      }),
    );
  });
});
