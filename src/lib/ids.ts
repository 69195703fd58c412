import { randomBase62, sha256Hex } from "./crypto";

export const ID_PREFIXES = {
  tenant: "ten",
  apiKey: "key",
  carrier: "car",
  contact: "ct",
  segment: "seg",
  program: "pg",
  message: "msg",
  event: "evt",
  integration: "int",
  webhookEndpoint: "whe",
  consent: "cns",
  messageEvent: "mev",
  inbound: "inb",
  hookDelivery: "hkd",
  webhookDelivery: "whd",
  run: "run",
  dueBuild: "dub",
  occurrencePage: "ocp",
  request: "req",
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

/**
 * A prefixed id: `<prefix>_<ms since epoch, base36, 9 chars><14 random base62>`. The time part
 * makes ids roughly creation-ordered, which keeps index inserts local.
 */
export function newId(kind: IdKind, now = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${now.toString(36).padStart(9, "0")}${randomBase62(14)}`;
}

/**
 * A prefixed id derived from what identifies the thing (an event's caller id, Idempotency-Key or
 * delivery id; a run's Idempotency-Key): the same parts always give the same id, so a retried
 * request or job finds the row its first attempt wrote instead of minting a new one.
 */
export async function derivedId(kind: IdKind, ...parts: string[]): Promise<string> {
  const digest = await sha256Hex(parts.map((p) => `${p.length}:${p}`).join("|"));
  return `${ID_PREFIXES[kind]}_${digest.slice(0, 23)}`;
}
