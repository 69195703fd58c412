import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyzeBody, gsmSeptets, ucs2Culprits } from "../../src/domain/encoding";

const GSM_BASIC_SAMPLE = [
  ..."@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡AZÄÖÑÜ§¿azäöñüà",
];
const GSM_EXT = [..."\f^{}\\[~]|€"];
const NON_GSM = ["’", "“", "—", "ç", "😀", "中", "👍🏽", "á", "\u00a0"];

const gsmChar = fc.constantFrom(...GSM_BASIC_SAMPLE, ...GSM_EXT);
const anyChar = fc.constantFrom(...GSM_BASIC_SAMPLE, ...GSM_EXT, ...NON_GSM);
const gsmBody = fc.array(gsmChar, { maxLength: 800 }).map((a) => a.join(""));
const anyBody = fc.array(anyChar, { minLength: 1, maxLength: 800 }).map((a) => a.join(""));

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

  it("property: GSM-only bodies are GSM-7 and septets add up", () => {
    fc.assert(
      fc.property(gsmBody, (body) => {
        const r = analyzeBody(body);
        const septets = [...body].reduce((s, ch) => s + gsmSeptets(ch), 0);
        expect(r.encoding).toBe("GSM-7");
        expect(r.units).toBe(septets);
        expect(r.characters).toBe([...body].length);
        if (septets <= 160) expect(r.segments).toBe(1);
        else {
          // each split wastes at most one septet (an escape that did not fit)
          expect(r.segments).toBeGreaterThanOrEqual(Math.ceil(septets / 153));
          expect(r.segments).toBeLessThanOrEqual(Math.ceil(septets / 152));
        }
        expect(ucs2Culprits(body)).toEqual([]);
      }),
    );
  });

  it("property: any non-GSM character forces UCS-2 counted in UTF-16 units", () => {
    fc.assert(
      fc.property(anyBody, fc.constantFrom(...NON_GSM), fc.nat(), (base, culprit, pos) => {
        const chars = [...base];
        chars.splice(pos % (chars.length + 1), 0, culprit);
        const body = chars.join("");
        const r = analyzeBody(body);
        expect(r.encoding).toBe("UCS-2");
        expect(r.units).toBe(body.length);
        expect(r.characters).toBe([...body].length);
        if (body.length <= 70) expect(r.segments).toBe(1);
        else {
          expect(r.segments).toBeGreaterThanOrEqual(Math.ceil(body.length / 67));
          expect(r.segments).toBeLessThanOrEqual(Math.ceil(body.length / 66));
        }
        const culprits = ucs2Culprits(body);
        expect(culprits.length).toBeGreaterThan(0);
        expect(new Set(culprits).size).toBe(culprits.length);
        for (const c of culprits) expect(gsmSeptets(c)).toBe(0);
      }),
    );
  });

  it("property: segments never decrease as a body grows", () => {
    fc.assert(
      fc.property(anyBody, anyChar, (body, extra) => {
        const a = analyzeBody(body);
        const b = analyzeBody(body + extra);
        if (a.encoding === b.encoding) expect(b.segments).toBeGreaterThanOrEqual(a.segments);
      }),
    );
  });
});

describe("ucs2Culprits", () => {
  it("lists distinct offending characters in order", () => {
    expect(ucs2Culprits("It’s 5€ — it’s ok")).toEqual(["’", "—"]);
    expect(ucs2Culprits("plain {text} €")).toEqual([]);
  });
});
