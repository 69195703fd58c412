/**
 * Revocation in other words (PRODUCT.md, Carrier callbacks; FCC 47 CFR 64.1200(a)(10)): a reply a
 * reasonable person reads as "stop texting me" revokes consent even when it is not an exact
 * keyword. Pure and table-driven: the text is normalised (case, accents, apostrophes, emoji,
 * common SMS spellings), then
 *
 * 1. **vetoes** — phrases that ask for the opposite ("don't stop the delivery", "keep texting me")
 *    — win over everything;
 * 2. **phrases** — a request to stop the texts in a sentence ("please stop texting me", "remove me
 *    from your list", "no más mensajes") revoke wherever they stand;
 * 3. **bare clauses** — a clause that is only an opt-out word plus politeness ("stop please",
 *    "i said stop", "baja por favor") revokes; the same word with anything else in its clause
 *    ("my bus stop is on Elm", "cancel my order", "baja la música") does not.
 *
 * English and Spanish (and the two mixed). Exact keywords are matched before this runs
 * (`classifyKeyword`); this function also accepts them.
 */

export interface RevocationMatch {
  /** Which table entry matched (for logs and tests). */
  rule: string;
}

/** Common SMS spellings and typos → the word the tables use. Applied token by token. */
const SPELLINGS: Readonly<Record<string, string>> = {
  stopp: "stop",
  stopall: "stop all",
  stahp: "stop",
  sotp: "stop",
  stp: "stop",
  txt: "text",
  txts: "texts",
  txting: "texting",
  textin: "texting",
  texting: "texting",
  msg: "message",
  msgs: "messages",
  msging: "messaging",
  msgn: "messaging",
  sms: "texts",
  pls: "please",
  plz: "please",
  plez: "please",
  ur: "your",
  u: "you",
  rmv: "remove",
  unsubscibe: "unsubscribe",
  unsuscribe: "unsubscribe",
  unsubcribe: "unsubscribe",
  unsubscrib: "unsubscribe",
  unsub: "unsubscribe",
  optout: "opt out",
  msjs: "mensajes",
  msj: "mensaje",
  mjs: "mensajes",
  xfa: "por favor",
  porfa: "por favor",
  porfavor: "por favor",
};

/** Lower case, accents and apostrophes gone, every non-letter/digit a space, spellings mapped. */
export function normalizeReply(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/['’‘`´]/gu, "")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim()
    .split(" ")
    .map((w) => SPELLINGS[w] ?? w)
    .join(" ");
}

/** Clauses, split where people put a break: sentence punctuation, commas, dashes, line breaks, emoji. */
function clauses(text: string): string[] {
  return text
    .split(/[.,;:!?¡¿\n\r—–]+|\s-\s|[\p{Extended_Pictographic}]/u)
    .map(normalizeReply)
    .filter((c) => c.length > 0);
}

// Word groups shared by the tables (normalised forms).
const TEXTS = "(?:texts?|messages?|text messages|mensajes?|textos?|crap|spam|stuff)";
const TEXTING = "(?:texting|messaging|contacting|calling|sending texts|sending messages)";
const ME = "(?:me|this number|my number|my phone|my cell)";
const SOME = "(?:(?:these|this|the|those|your|all|any|all the|all these|all your|all of these)\\s+)?";
const PROMOS = "(?:promos?|promotions?|ads|offers|deals|marketing)";
const NOT = "(?:dont|do not|never|please dont|please do not)";

/** Phrases that ask for the opposite of an opt-out: none of them revokes, whatever else the text says. */
const VETOES: readonly (readonly [rule: string, pattern: RegExp])[] = [
  // "keep texting me" asks for more; "why do you keep texting me" complains and is left to the rest.
  ["keep-texting", /(?<!you )\bkeep (?:texting|messaging|sending|them coming|the texts coming)\b/],
  ["dont-stop", new RegExp(`\\b(?:${NOT}|cant|cannot|wont) (?:stop|cancel|end)\\b`)],
  ["no-pares", /\bno (?:pares|paren|pare|canceles|cancelen|cancele)\b/],
];

/** Requests to stop the texts, wherever they stand in the reply. */
const PHRASES: readonly (readonly [rule: string, pattern: RegExp])[] = [
  // English
  ["stop-texting", new RegExp(`\\b(?:stop|quit|cease|enough) ${TEXTING}\\b`)],
  ["stop-sending", new RegExp(`\\b(?:stop|quit) sending(?: me)?(?: ${SOME}${TEXTS}\\b|$| please\\b)`)],
  ["stop-receiving", /\bstop (?:receiving|getting)\b/],
  ["stop-the-texts", new RegExp(`\\b(?:stop|enough)(?: with)? ${SOME}${TEXTS}\\b`)],
  ["stop-contact", /\bstop (?:contacting|bothering|spamming|harassing) me\b/],
  ["remove-me", new RegExp(`\\b(?:remove|delete|erase|take|drop|lose) ${ME}\\b`)],
  [
    "off-list",
    /\b(?:off|from) (?:your|the|this|ur|my) (?:list|mailing list|texting list|database|contacts)\b/,
  ],
  ["take-number-off", /\btake my (?:number|phone|cell) off\b/],
  ["unsubscribe", /\bunsubscribe\b/],
  ["opt-out", /\bopt (?:me )?out\b/],
  ["no-more", new RegExp(`\\bno more ${SOME}(?:${TEXTS}|${PROMOS}|of (?:these|this|them|your))\\b`)],
  ["no-texts", new RegExp(`^(?:please )?no ${TEXTS}(?: please)?$`)],
  ["dont-text-me", new RegExp(`\\b${NOT} (?:text|message|contact|send|texts|sms) ${ME}\\b`)],
  ["dont-text-me-again", new RegExp(`\\b${NOT} (?:text|message|contact) (?:me )?(?:again|anymore|ever)\\b`)],
  [
    "dont-want-texts",
    new RegExp(
      `\\b(?:dont|do not|no longer|never) (?:want|wish|need)(?: to (?:receive|get))? ${SOME}(?:any )?(?:more )?(?:${TEXTS}|${PROMOS}|them)\\b`,
    ),
  ],
  [
    "want-to-stop",
    new RegExp(
      `\\b(?:want|wish|would like|wanna|need) to (?:opt out|unsubscribe|be removed|stop(?= (?:receiving|getting)\\b| ${SOME}${TEXTS}\\b|$))`,
    ),
  ],
  [
    "cancel-texts",
    new RegExp(
      `\\bcancel ${SOME}(?:my )?(?:${TEXTS}|text subscription|sms subscription|subscription to (?:these|your) ${TEXTS})\\b`,
    ),
  ],
  ["wrong-number", /\bwrong (?:number|person|phone|cell)\b/],
  ["leave-me-alone", /\bleave me alone\b/],
  ["never-signed-up", /\bi never signed up\b/],
  // Spanish
  ["dar-de-baja", /\b(?:dar|darme|denme|den|dame|deme|doy|darse|dese) de baja\b/],
  [
    "dejen-de",
    /\b(?:deja|dejen|deje|dejar|dejad|para|paren|pare|parar) de (?:enviar|mandar|escribir|textear|contactar|llamar)\w*/,
  ],
  [
    "no-me-manden",
    /\bno (?:me )?(?:manden|mandes|mande|envien|envies|envie|escriban|escribas|escriba|textees|contacten)\b/,
  ],
  [
    "no-quiero",
    new RegExp(
      `\\bno (?:quiero|deseo|necesito)(?: recibir| que me (?:manden|envien|escriban|mande|envie))?(?: mas)? ${TEXTS}\\b`,
    ),
  ],
  ["no-enviar", new RegExp(`\\bno (?:enviar|mandar|escribir)(?:me|nos)?(?: mas)? ${TEXTS}\\b`)],
  ["stop-mandar", /\bstop (?:mandar|enviar|escribir)\w*/],
  ["no-mas", new RegExp(`\\bno mas ${TEXTS}\\b`)],
  ["no-mas-bare", /^(?:please |por favor )?no mas(?: por favor| please)?$/],
  ["basta-de", new RegExp(`\\bbasta de ${TEXTS}\\b`)],
  ["saquenme", /\b(?:borr|quit|saqu|sac|elimin)\w*(?:me|nos) de (?:la|su|tu|sus|esta|vuestra) lista\b/],
  ["numero-equivocado", /\bnumero (?:equivocado|incorrecto)\b/],
  ["cancelar-mensajes", new RegExp(`\\bcancelar (?:la )?(?:suscripcion|${TEXTS})\\b`)],
];

/** Words that may stand alone (with politeness) as a whole clause and mean "stop texting me". */
const BARE_WORDS = new Set([
  "stop",
  "stop all",
  "stop it",
  "unsubscribe",
  "end",
  "quit",
  "cancel",
  "revoke",
  "opt out",
  "alto",
  "parar",
  "pare",
  "paren",
  "basta",
  "baja",
  "cancelar",
]);

/** Politeness and emphasis that may surround a bare opt-out word in its clause. */
const FILLERS = new Set([
  "please",
  "por",
  "favor",
  "now",
  "just",
  "already",
  "thx",
  "thanks",
  "thank",
  "you",
  "gracias",
  "ok",
  "okay",
  "i",
  "said",
  "ya",
  "asap",
  "right",
  "again",
  "seriously",
  "dude",
  "damn",
  "lol",
  "omg",
  "y",
  "ahora",
  "mismo",
]);

function isBareClause(clause: string): boolean {
  const words = clause.split(" ").filter((w) => !FILLERS.has(w));
  return words.length > 0 && BARE_WORDS.has(words.join(" "));
}

/**
 * Whether an inbound reply revokes consent, and by which rule; null when it does not.
 *
 * @example classifyRevocation("please stop texting me") // { rule: "stop-texting" }
 * @example classifyRevocation("no más mensajes") // { rule: "no-mas" }
 * @example classifyRevocation("can I cancel my order?") // null
 * @example classifyRevocation("don't stop the delivery") // null
 */
export function classifyRevocation(text: string): RevocationMatch | null {
  const whole = normalizeReply(text);
  if (whole.length === 0) return null;
  for (const [, pattern] of VETOES) if (pattern.test(whole)) return null;
  for (const [rule, pattern] of PHRASES) if (pattern.test(whole)) return { rule };
  if (clauses(text).some(isBareClause)) return { rule: "bare-clause" };
  return null;
}

/** True when the reply revokes consent (see `classifyRevocation`). */
export const isRevocation = (text: string): boolean => classifyRevocation(text) !== null;
