/**
 * The tables of the revocation classifier (`revocation.ts`): spellings, phrases, negations,
 * vetoes and bare words, all matched against one normalised clause at a time (lower case, no
 * accents or apostrophes, letters and digits separated by single spaces).
 */

/** Common SMS spellings and typos → the word the tables use. Applied token by token. */
export const SPELLINGS: Readonly<Record<string, string>> = {
  stopp: "stop",
  stopall: "stop all",
  stahp: "stop",
  sotp: "stop",
  stp: "stop",
  txt: "text",
  txts: "texts",
  txting: "texting",
  textin: "texting",
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
  frm: "from",
  rmv: "remove",
  unsubscibe: "unsubscribe",
  unsuscribe: "unsubscribe",
  unsubcribe: "unsubscribe",
  unsubscrib: "unsubscribe",
  unsub: "unsubscribe",
  optout: "opt out",
  yall: "you all",
  msjs: "mensajes",
  msj: "mensaje",
  mjs: "mensajes",
  xfa: "por favor",
  porfa: "por favor",
  porfavor: "por favor",
};

// Word groups shared by the tables (normalised forms).
const TEXTS =
  "(?:texts?|messages?|text messages|mensajes?|textos?|crap|spam|stuff|promos?|promotions?|ads|offers|deals|coupons|marketing|alerts|notifications|reminders)";
const TEXTING = "(?:texting|messaging|contacting|calling|sending texts|sending messages)";
const ME = "(?:me|this number|my number|my phone|my cell)";
const SOME =
  "(?:(?:these|this|the|those|your|all|any|all the|all these|all your|all of these|los|las|tus|sus|estos|estas)\\s+)?";
/** One optional word before a texts noun: "birthday messages", "marketing texts". */
const ADJ = "(?:[a-z]+ )?";
const LIST = "(?:list|lists|mailing list|texting list|text list|database|contacts|system|thing)";
const WHOSE = "(?:your|the|this|that|these|all|all your|my)";
const NOT = "(?:dont|do not|never|please dont|please do not)(?: ever)?";

/** Requests to stop the texts. Each is matched inside one clause; a negation just before it cancels it. */
export const PHRASES: readonly (readonly [rule: string, pattern: RegExp])[] = [
  // English
  ["stop-texting", new RegExp(`\\b(?:stop|quit|cease|desist|enough) ${TEXTING}\\b`)],
  [
    "stop-sending",
    new RegExp(
      `\\b(?:stop|quit) sending(?: me)?(?: ${SOME}${ADJ}${TEXTS}\\b| (?:these|those|them|this|that|anything|things)$|$| please\\b)`,
    ),
  ],
  ["stop-receiving", /\bstop (?:receiving|getting)\b/],
  ["stop-the-texts", new RegExp(`\\b(?:stop|enough|done)(?: with)? ${SOME}${TEXTS}\\b`)],
  ["stop-contact", /\bstop (?:contacting|bothering|spamming|harassing) me\b/],
  [
    "want-them-to-stop",
    /\b(?:(?:want|need) (?:them|these|this|it|you|you all|the texts|the messages) to|make (?:it|them|this|these)) stop\b/,
  ],
  ["remove-me", new RegExp(`\\b(?:remove|delete|erase|lose) ${ME}\\b`)],
  // take/drop/get only off or out of a list, or "take me off" alone: "take me 10 min", "drop me a
  // text", "drop me off at 5", "take me off speaker", "get me out of here" are not requests.
  ["take-me-off", new RegExp(`\\b(?:take|get|kick) ${ME} off(?: of)?(?: please| now| asap| already)*$`)],
  [
    "off-the-list",
    new RegExp(`\\b(?:take|get|kick|drop) ${ME} (?:off|of|off of|out of|from) ${WHOSE} ${ADJ}${LIST}\\b`),
  ],
  ["take-number-off", /\btake (?:my|this) (?:number|phone|cell) off\b/],
  ["off-list", new RegExp(`\\b(?:off|from) ${WHOSE} ${LIST}\\b`)],
  ["want-off", /\bi want (?:off|out)\b/],
  ["unsubscribe", /\bunsubscribe\b/],
  ["opt-out", /\bopt (?:me )?out\b/],
  ["no-more", new RegExp(`\\bno more ${SOME}(?:${ADJ}${TEXTS}|of (?:these|this|them|your))\\b`)],
  ["no-texts", new RegExp(`^(?:please )?no ${TEXTS}(?: please)?$`)],
  ["dont-text-me", new RegExp(`\\b${NOT} (?:text|message|contact|send|texts) ${ME}\\b`)],
  ["dont-text-me-again", new RegExp(`\\b${NOT} (?:text|message|contact) (?:me )?(?:again|anymore|ever)\\b`)],
  [
    "dont-want-texts",
    new RegExp(
      `\\b(?:dont|do not|no longer|never) (?:want|wish|need)(?: to (?:receive|get))? ${SOME}(?:any )?(?:more )?(?:${ADJ}${TEXTS}|them)\\b`,
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
  // A statement, not a question about which number to use: "do I have the wrong number for
  // support?", "is this the wrong number for returns", "the wrong number of items".
  [
    "wrong-number",
    /(?<!\b(?:do i have|have i got|did i get|did i use|did i text|did i call|am i using|am i texting|is this|is that|is it) (?:the |a )?)\bwrong (?:number|person|phone|cell)\b(?! (?:for|of|to)\b)/,
  ],
  [
    "complaint-then-keyword",
    new RegExp(
      `\\b(?:texting|messaging|sending|getting|contacting|receiving)(?: [a-z]+){0,4} (?:me|these|this|them|it|number|phone|${TEXTS}) (?:stop|unsubscribe|opt out|remove me|take me off|baja|alto)(?: please| now| already| asap)*$`,
    ),
  ],
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
  ["basta-de", new RegExp(`\\bbasta (?:de|con) ${SOME}${TEXTS}\\b`)],
  ["saquenme", /\b(?:borr|quit|saqu|sac|elimin)\w*(?:me|nos) de (?:la|su|tu|sus|esta|vuestra) lista\b/],
  ["borren-mi-numero", /\b(?:borr|elimin|quit|sac)\w* (?:mi|este) (?:numero|telefono|celular)\b/],
  ["numero-equivocado", /(?<!\btengo (?:el |un )?)\bnumero (?:equivocado|incorrecto)\b(?! (?:para|de)\b)/],
  ["cancelar-mensajes", new RegExp(`\\bcancelar (?:la )?(?:suscripcion|${TEXTS})\\b`)],
];

/**
 * A negation just before a phrase cancels that phrase only: "don't unsubscribe me", "you won't
 * stop texting me", "I can't stop getting these" (a complaint, not a request — the rest of the
 * reply may still revoke).
 */
export const NEGATION =
  /\b(?:dont|do not|never|wont|will not|cant|cannot|didnt|did not|doesnt|does not|not|shouldnt|wouldnt)(?: (?:please|ever|you|you all|guys|even|want|need|to|mean to))* $/;

/** Where a negation stops reaching: "you won't stop texting me so remove me". */
export const CONJUNCTION = /\b(?:but|so|and|just|then|pero|y|asi que)\b/;

/**
 * Words in a clause that take back every opt-out in that clause (and only there): asking to keep
 * the texts ("…but keep texting me") and the Spanish negated requests ("no me des de baja",
 * "no dejen de mandarme promos"). "Why do you keep texting me" is a complaint: `keep` counts only
 * as a request (clause start, or after but/and/please/just/still/want to).
 */
export const CLAUSE_VETOES: readonly (readonly [rule: string, pattern: RegExp])[] = [
  [
    "keep-texting",
    /(?:^|\b(?:but|and|please|just|still|so|want to|want you to|like to|wanna) )keep (?:texting|messaging|sending|getting|receiving|the texts|the messages|them coming|me on|me subscribed)\b/,
  ],
  [
    "no-dejen-de",
    /\bno (?:me )?(?:des|den|de|dejen|deje|dejes|deja|pares|paren|pare|canceles|cancelen|cancele|borres|borren|quites|quiten|saques|saquen)\b/,
  ],
];

/**
 * Something else to leave ("from the emails", "off the waitlist"): a clause naming one of these
 * and no texts is about that thing, not about the texts.
 */
export const OTHER_SCOPE =
  /\b(?:from|off|of) (?:the |your |my |this |that )?(?:emails?|e mails?|email list|newsletters?|box|subscription box|waitlist|wait list|waiting list|guest list|reservation|order|appointment|cart|class|calendar|schedule)\b/;
export const MENTIONS_TEXTS = new RegExp(`\\b(?:${TEXTS}|texting|sms)\\b`);

/** A clause that takes back the bare opt-out just before it: "stop! I mean, wait…". */
export const RETRACTION = /^(?:i mean|wait|hold on|never mind|nevermind|nvm|jk|just kidding|oops|sorry)\b/;

/** Words that may stand alone (with politeness) as a whole clause and mean "stop texting me". */
export const BARE_WORDS: ReadonlySet<string> = new Set([
  "stop",
  "stop all",
  "stop it",
  "unsubscribe",
  "unsubscribe me",
  "end",
  "quit",
  "cancel",
  "revoke",
  "opt out",
  "no more",
  "enough",
  "remove",
  "remove me",
  "alto",
  "para",
  "parar",
  "pare",
  "paren",
  "basta",
  "baja",
  "cancelar",
  "no mas",
  "borrenme",
  "borrame",
  "quitenme",
  "quitame",
  "saquenme",
  "sacame",
  "eliminenme",
  "eliminame",
]);

/** Politeness and emphasis that may surround a bare opt-out word in its clause. */
export const FILLERS: ReadonlySet<string> = new Set([
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
  "but",
  "so",
  "and",
  "can",
  "could",
  "would",
]);
