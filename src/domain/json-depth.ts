/**
 * How deeply a JSON text nests, found by one iterative pass over its bytes — no parse, no
 * recursion, so a megabyte of `[[[[…` costs a loop and never the stack. Brackets inside strings do
 * not count (escapes are honoured). UTF-8 multi-byte sequences never contain ASCII bytes, so the
 * scan is exact on the raw bytes. It stops as soon as the depth passes `limit`.
 *
 * @example jsonDepthExceeds(new TextEncoder().encode('{"a":[1,{"b":2}]}'), 2) // true (depth 3)
 */
export function jsonDepthExceeds(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c /* \ */) i++;
      else if (b === 0x22 /* " */) inString = false;
    } else if (b === 0x22) {
      inString = true;
    } else if (b === 0x5b /* [ */ || b === 0x7b /* { */) {
      depth++;
      if (depth > limit) return true;
    } else if (b === 0x5d /* ] */ || b === 0x7d /* } */) {
      // Unbalanced text is left to the JSON parser (400 malformed); never below zero here.
      if (depth > 0) depth--;
    }
  }
  return false;
}

/** PRODUCT.md, input bounds: JSON nesting deeper than this is a 400, checked before any parse. */
export const MAX_JSON_DEPTH = 32;
