import { randomBase62 } from "./crypto";

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
