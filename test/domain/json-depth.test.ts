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
    // depthSize "max": at the default size fast-check rarely nests past 3. The limit sits at the
    // value's own depth ±1, so each run checks the boundary (exactly at the limit, one past it).
    const reached = { deep: 0, over: 0, atLimit: 0 };
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 10, depthSize: "max" }),
        fc.integer({ min: -1, max: 1 }),
        (v, delta) => {
          const depth = depthOf(v);
          const limit = Math.max(0, depth + delta);
          expect(jsonDepthExceeds(enc(JSON.stringify(v)), limit)).toBe(depth > limit);
          if (depth >= 5) reached.deep += 1;
          if (depth > limit) reached.over += 1;
          if (depth === limit) reached.atLimit += 1;
        },
      ),
      { numRuns: 300 },
    );
    expect(reached.deep).toBeGreaterThan(10);
    expect(reached.over).toBeGreaterThan(10);
    expect(reached.atLimit).toBeGreaterThan(10);
  });
});
