import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyzeBody, gsmSeptets, ucs2Culprits } from "../../src/domain/encoding";

const GSM_BASIC_SAMPLE = [
  ..."@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡AZÄÖÑÜ§¿azäöñüà",
];
const GSM_EXT = [..."\f^{}\\[~]|€"];
const NON_GSM = ["’", "“", "—", "ç", "😀", "中", "👍🏽", "á", "\u00a0"];

const gsmBasicChar = fc.constantFrom(...GSM_BASIC_SAMPLE);
const gsmExtChar = fc.constantFrom(...GSM_EXT);
// Escapes are frequent (1 in 4) so that some land on a part boundary.
const gsmChar = fc.oneof({ arbitrary: gsmBasicChar, weight: 3 }, { arbitrary: gsmExtChar, weight: 1 });
const nonGsmChar = fc.constantFrom(...NON_GSM);
// Emoji and other non-GSM characters often enough that surrogate pairs land on part boundaries.
const anyChar = fc.oneof(
  { arbitrary: gsmBasicChar, weight: 2 },
  { arbitrary: gsmExtChar, weight: 1 },
  { arbitrary: nonGsmChar, weight: 2 },
);

/** Body lengths (in generated characters) up to 1,600, concentrated around the part boundaries. */
const lengthAround = (...centres: number[]) =>
  fc.oneof(
    fc.integer({ min: 0, max: 1600 }),
    ...centres.map((c) => fc.integer({ min: Math.max(0, c - 12), max: c + 12 })),
  );
const bodyOf = (char: fc.Arbitrary<string>, length: fc.Arbitrary<number>) =>
  length.chain((n) => fc.array(char, { minLength: n, maxLength: n, size: "max" }).map((a) => a.join("")));

/**
 * Bodies whose total cost lands within a few units of `targets` (a multiple of the per-part size):
 * random characters up to the target, padded with `pad` (1 unit). These are the bodies where an
 * escape or a surrogate pair straddling a cut costs a whole extra part.
 */
const bodyNearTotal = (
  char: fc.Arbitrary<string>,
  cost: (ch: string) => number,
  pad: string,
  targets: number[],
) =>
  fc.tuple(fc.constantFrom(...targets), fc.integer({ min: -3, max: 1 })).chain(([target, delta]) =>
    fc.array(char, { minLength: target, maxLength: target, size: "max" }).map((a) => {
      let used = 0;
      let body = "";
      for (const ch of a) {
        if (used + cost(ch) > target + delta) break;
        body += ch;
        used += cost(ch);
      }
      return body + pad.repeat(Math.max(0, target + delta - used));
    }),
  );
const septetsOf = (ch: string) => (GSM_EXT.includes(ch) ? 2 : 1);

// GSM-7: 160 single, 153 per part (306, 459, … for 2, 3 parts); an escape costs two septets.
const gsmBody = fc.oneof(
  bodyOf(gsmChar, lengthAround(80, 130, 153, 160, 245, 306, 459)),
  bodyNearTotal(gsmChar, septetsOf, "a", [306, 459, 612, 1530]),
);
// UCS-2: 70 single, 67 per part (134, 201, …); emoji cost two units.
const anyBody = fc.oneof(
  bodyOf(anyChar, lengthAround(35, 67, 70, 100, 134, 201)),
  bodyNearTotal(anyChar, (ch) => ch.length, "’", [134, 201, 268, 670]),
);

/**
 * A reference for what the carrier sends, written from 3GPP TS 23.038/23.040 independently of
 * src/domain/encoding.ts: the body encoded unit by unit (an extension character is ESC + char in
 * GSM-7; UCS-2 is UTF-16 code units), cut every 153 / 67 units, the cut moved back one unit when it
 * would separate an ESC from its character or a high surrogate from its low one.
 */
const GSM_TABLE = new Set([
  ...("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"),
]);
const GSM_EXT_TABLE = new Set(GSM_EXT);
const ESC = "\u001b";

function carrierParts(body: string): { encoding: "GSM-7" | "UCS-2"; units: string[]; parts: string[][] } {
  const septets: string[] = [];
  let gsm = true;
  for (const ch of body) {
    if (GSM_EXT_TABLE.has(ch)) septets.push(ESC, ch);
    else if (GSM_TABLE.has(ch)) septets.push(ch);
    else gsm = false;
  }
  const units = gsm ? septets : body.split("");
  const [single, perPart] = gsm ? [160, 153] : [70, 67];
  const isLead = gsm
    ? (u: string) => u === ESC
    : (u: string) => u.charCodeAt(0) >= 0xd800 && u.charCodeAt(0) <= 0xdbff;
  if (units.length <= single) return { encoding: gsm ? "GSM-7" : "UCS-2", units, parts: [units] };
  const parts: string[][] = [];
  for (let i = 0; i < units.length; ) {
    let end = Math.min(i + perPart, units.length);
    if (end < units.length && isLead(units[end - 1] ?? "")) end -= 1;
    parts.push(units.slice(i, end));
    i = end;
  }
  return { encoding: gsm ? "GSM-7" : "UCS-2", units, parts };
}

/** Code points, counted from UTF-16 (a low surrogate after a high one adds nothing). */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const prev = i > 0 ? s.charCodeAt(i - 1) : 0;
    if (!(c >= 0xdc00 && c <= 0xdfff && prev >= 0xd800 && prev <= 0xdbff)) n += 1;
  }
  return n;
}

describe("analyzeBody", () => {
  it("counts GSM-7 single and multi-part boundaries", () => {
    expect(analyzeBody("Hello")).toEqual({ encoding: "GSM-7", segments: 1, characters: 5, units: 5 });
    expect(analyzeBody("a".repeat(160)).segments).toBe(1);
    expect(analyzeBody("a".repeat(161)).segments).toBe(2);
    expect(analyzeBody("a".repeat(306)).segments).toBe(2);
    expect(analyzeBody("a".repeat(307)).segments).toBe(3);
  });

  it("counts extension characters as two septets", () => {
    expect(analyzeBody("5€")).toEqual({ encoding: "GSM-7", segments: 1, characters: 2, units: 3 });
    expect(analyzeBody(`${"a".repeat(159)}€`)).toMatchObject({ segments: 2, units: 161, characters: 160 });
    expect(analyzeBody(`${"a".repeat(158)}{`)).toMatchObject({ segments: 1, units: 160 });
  });

  it("never splits an escape: walking the parts costs a segment that division would miss", () => {
    const body = `${"a".repeat(152)}€${"a".repeat(152)}`;
    const r = analyzeBody(body);
    expect(r.units).toBe(306);
    expect(r.segments).toBe(3);
  });

  it("switches to UCS-2 for any other character (70 / 67)", () => {
    expect(analyzeBody("It’s here")).toEqual({ encoding: "UCS-2", segments: 1, characters: 9, units: 9 });
    expect(analyzeBody("’".repeat(70)).segments).toBe(1);
    expect(analyzeBody("’".repeat(71)).segments).toBe(2);
    expect(analyzeBody("’".repeat(134)).segments).toBe(2);
    expect(analyzeBody("’".repeat(135)).segments).toBe(3);
  });

  it("counts code points as characters and never splits a surrogate pair", () => {
    expect(analyzeBody("😀")).toEqual({ encoding: "UCS-2", segments: 1, characters: 1, units: 2 });
    const body = `${"’".repeat(66)}😀${"’".repeat(66)}`;
    const r = analyzeBody(body);
    expect(r).toMatchObject({ characters: 133, units: 134 });
    expect(r.segments).toBe(3);
  });

  it("counts long GSM-7 bodies up to 1,600 characters, and escapes across part boundaries", () => {
    expect(analyzeBody("a".repeat(1530))).toMatchObject({ segments: 10, units: 1530, characters: 1530 });
    expect(analyzeBody("a".repeat(1531)).segments).toBe(11);
    expect(analyzeBody("€".repeat(80))).toMatchObject({ segments: 1, units: 160, characters: 80 });
    // 76 escapes (152 septets) per part: the 77th would be split, so it starts the next part.
    expect(analyzeBody("€".repeat(81))).toMatchObject({ segments: 2, units: 162 });
    expect(analyzeBody("€".repeat(152)).segments).toBe(2);
    expect(analyzeBody("€".repeat(153))).toMatchObject({ segments: 3, units: 306 });
    expect(analyzeBody(`${"a".repeat(152)}[]${"a".repeat(150)}`)).toMatchObject({ segments: 3, units: 306 });
  });

  it("counts long UCS-2 bodies, and surrogate pairs across part boundaries", () => {
    expect(analyzeBody("😀".repeat(35))).toMatchObject({ segments: 1, units: 70, characters: 35 });
    // 33 emoji (66 units) per part: the 34th would be split.
    expect(analyzeBody("😀".repeat(36))).toMatchObject({ segments: 2, units: 72, characters: 36 });
    expect(analyzeBody("😀".repeat(66)).segments).toBe(2);
    expect(analyzeBody("😀".repeat(67))).toMatchObject({ segments: 3, units: 134 });
    expect(analyzeBody("’".repeat(1600))).toMatchObject({ segments: 24, units: 1600, characters: 1600 });
  });

  it("property: GSM-only bodies up to 1,600 characters: septets, parts of ≤153, escapes never split", () => {
    const reached = { over160: 0, escapeAtCut: 0 };
    fc.assert(
      fc.property(gsmBody, (body) => {
        const r = analyzeBody(body);
        const ref = carrierParts(body);
        expect(ref.encoding).toBe("GSM-7");
        expect(r.encoding).toBe("GSM-7");
        expect(r.characters).toBe(codePoints(body));
        expect(r.units).toBe(ref.units.length);
        expect(r.segments).toBe(ref.parts.length);
        if (ref.units.length > 160) {
          for (const part of ref.parts) {
            expect(part.length).toBeLessThanOrEqual(153);
            expect(part.at(-1)).not.toBe(ESC);
          }
        }
        expect(ucs2Culprits(body)).toEqual([]);
        if (body.length > 160) reached.over160 += 1;
        // An escape that did not fit cost a whole extra part that dividing by 153 would not see.
        if (ref.units.length > 160 && ref.parts.length > Math.ceil(ref.units.length / 153))
          reached.escapeAtCut += 1;
      }),
      { numRuns: 300 },
    );
    expect(reached.over160).toBeGreaterThan(100);
    expect(reached.escapeAtCut).toBeGreaterThan(0);
  });

  it("property: any non-GSM character forces UCS-2: UTF-16 units, parts of ≤67, surrogate pairs never split", () => {
    const reached = { over70: 0, over160: 0, pairAtCut: 0 };
    fc.assert(
      fc.property(anyBody, nonGsmChar, fc.nat(), (base, culprit, pos) => {
        const chars = [...base];
        chars.splice(pos % (chars.length + 1), 0, culprit);
        const body = chars.join("");
        const r = analyzeBody(body);
        const ref = carrierParts(body);
        expect(ref.encoding).toBe("UCS-2");
        expect(r.encoding).toBe("UCS-2");
        expect(r.units).toBe(body.length);
        expect(r.characters).toBe(codePoints(body));
        expect(r.segments).toBe(ref.parts.length);
        if (body.length > 70) {
          for (const part of ref.parts) {
            expect(part.length).toBeLessThanOrEqual(67);
            const last = part.at(-1)?.charCodeAt(0) ?? 0;
            expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
          }
        }
        const culprits = ucs2Culprits(body);
        for (const cp of culprit) expect(culprits).toContain(cp);
        expect(new Set(culprits).size).toBe(culprits.length);
        for (const c of culprits) expect(gsmSeptets(c)).toBe(0);
        if (body.length > 70) reached.over70 += 1;
        if (body.length > 160) reached.over160 += 1;
        if (body.length > 70 && ref.parts.length > Math.ceil(body.length / 67)) reached.pairAtCut += 1;
      }),
      { numRuns: 300 },
    );
    expect(reached.over70).toBeGreaterThan(100);
    expect(reached.over160).toBeGreaterThan(0);
    expect(reached.pairAtCut).toBeGreaterThan(0);
  });

  it("property: segments never decrease as a body grows", () => {
    let long = 0;
    fc.assert(
      fc.property(fc.oneof(gsmBody, anyBody), anyChar, (body, extra) => {
        const a = analyzeBody(body);
        const b = analyzeBody(body + extra);
        if (a.encoding === b.encoding) expect(b.segments).toBeGreaterThanOrEqual(a.segments);
        if (a.segments > 1) long += 1;
      }),
      { numRuns: 300 },
    );
    expect(long).toBeGreaterThan(0);
  });
});

describe("ucs2Culprits", () => {
  it("lists distinct offending characters in order", () => {
    expect(ucs2Culprits("It’s 5€ — it’s ok")).toEqual(["’", "—"]);
    expect(ucs2Culprits("plain {text} €")).toEqual([]);
  });
});
