/**
 * SMS encoding and segment counting the way carriers count them (3GPP TS 23.038 / 23.040).
 *
 * A body that fits the GSM 03.38 default alphabet (plus its extension table) travels as GSM-7:
 * 160 septets in one message, 153 per part once it is split (the user-data header eats 7). Any
 * other character forces UCS-2 for the whole message: 70 UTF-16 units, 67 per part. A split never
 * falls inside an extension escape (2 septets) or a surrogate pair (2 units), so a part may carry
 * fewer units than the maximum and counting has to walk the parts rather than divide.
 */

export type Encoding = "GSM-7" | "UCS-2";

export interface BodyAnalysis {
  encoding: Encoding;
  /** Parts the carrier bills (1 for an empty body). */
  segments: number;
  /** Unicode code points. */
  characters: number;
  /** GSM-7 septets (escapes count two) or UTF-16 code units for UCS-2. */
  units: number;
}

/** GSM 03.38 default alphabet (the escape 0x1B itself is not a character a body can carry). */
const GSM_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/** Extension table: each costs an escape plus the character, two septets. */
const GSM_EXTENSION = "\f^{}\\[~]|€";

const BASIC = new Set(GSM_BASIC);
const EXTENSION = new Set(GSM_EXTENSION);

const SINGLE = { "GSM-7": 160, "UCS-2": 70 } as const;
const MULTI = { "GSM-7": 153, "UCS-2": 67 } as const;

/** Septets a code point costs in GSM-7, or 0 when it is not in the alphabet. */
export function gsmSeptets(char: string): 0 | 1 | 2 {
  if (BASIC.has(char)) return 1;
  if (EXTENSION.has(char)) return 2;
  return 0;
}

/** True when every character of `body` is in the GSM-7 default alphabet or its extension table. */
export const isGsm7 = (body: string): boolean => {
  for (const ch of body) if (gsmSeptets(ch) === 0) return false;
  return true;
};

/** Splits `costs` (units per indivisible character) into parts of at most `max` units; returns the part count. */
function countParts(costs: Iterable<number>, max: number): number {
  let parts = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > max) {
      parts += 1;
      used = 0;
    }
    used += cost;
  }
  return parts;
}

/**
 * Encoding, segment count, code points and units of an SMS body.
 *
 * @example analyzeBody("Hello") // { encoding: "GSM-7", segments: 1, characters: 5, units: 5 }
 * @example analyzeBody("Price: 5€") // { encoding: "GSM-7", segments: 1, characters: 9, units: 10 }
 * @example analyzeBody("It’s here") // { encoding: "UCS-2", segments: 1, characters: 9, units: 9 }
 * @example analyzeBody("a".repeat(161)).segments // 2
 */
export function analyzeBody(body: string): BodyAnalysis {
  const chars = Array.from(body);
  const gsm = chars.every((ch) => gsmSeptets(ch) !== 0);
  const encoding: Encoding = gsm ? "GSM-7" : "UCS-2";
  const costs = gsm ? chars.map(gsmSeptets) : chars.map((ch) => ch.length);
  const units = costs.reduce<number>((sum, c) => sum + c, 0);
  const segments = units <= SINGLE[encoding] ? 1 : countParts(costs, MULTI[encoding]);
  return { encoding, segments, characters: chars.length, units };
}

/**
 * The distinct characters that force UCS-2, in order of first appearance (for preview warnings such
 * as "’ forces UCS-2"). Empty when the body is GSM-7.
 *
 * @example ucs2Culprits("It’s 5€ — ok") // ["’", "—"]
 */
export function ucs2Culprits(body: string): string[] {
  const out: string[] = [];
  for (const ch of body) if (gsmSeptets(ch) === 0 && !out.includes(ch)) out.push(ch);
  return out;
}
