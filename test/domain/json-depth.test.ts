import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonDepthExceeds } from "../../src/domain/json-depth";

const enc = (s: string) => new TextEncoder().encode(s);

/** The reference depth of a parsed value (recursive: fine for the small values generated here). */
const depthOf = (v: unknown): number =>
  v && typeof v === "object"
    ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf))
    : 0;

describe("jsonDepthExceeds", () => {
  it("counts objects and arrays, not brackets inside strings or escaped quotes", () => {
    expect(jsonDepthExceeds(enc("{}"), 0)).toBe(true);
    expect(jsonDepthExceeds(enc("{}"), 1)).toBe(false);
    expect(jsonDepthExceeds(enc('{"a":[1,{"b":2}]}'), 2)).toBe(true);
    expect(jsonDepthExceeds(enc('{"a":[1,{"b":2}]}'), 3)).toBe(false);
    expect(jsonDepthExceeds(enc('{"a":"[[[[{{{{"}'), 1)).toBe(false);
    expect(jsonDepthExceeds(enc('{"a":"\\"[[[["}'), 1)).toBe(false);
    expect(jsonDepthExceeds(enc('["\\\\",[[]]]'), 2)).toBe(true);
    expect(jsonDepthExceeds(enc('{"ключ":["…",{"😀":[]}]}'), 3)).toBe(true);
    expect(jsonDepthExceeds(enc('{"ключ":["…",{"😀":[]}]}'), 4)).toBe(false);
    expect(jsonDepthExceeds(enc("42"), 0)).toBe(false);
  });

  it("scans a megabyte of [[[[ without recursion", () => {
    const deep = new Uint8Array(1024 * 1024).fill(0x5b);
    expect(jsonDepthExceeds(deep, 32)).toBe(true);
    const balanced = enc(`${"[".repeat(500_000)}${"]".repeat(500_000)}`);
    expect(jsonDepthExceeds(balanced, 499_999)).toBe(true);
    expect(jsonDepthExceeds(balanced, 500_000)).toBe(false);
  });

  it("agrees with the depth of the parsed value", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 0, max: 8 }), (v, limit) => {
        expect(jsonDepthExceeds(enc(JSON.stringify(v)), limit)).toBe(depthOf(v) > limit);
      }),
      { numRuns: 300 },
    );
  });
});
