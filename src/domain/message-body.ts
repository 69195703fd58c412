/**
 * The final body of a message (PRODUCT.md, Messages and Sending rules): marketing gets the tenant's
 * opt-out footer unless the body already says how to stop, and no body past 1,600 characters
 * (footer included) reaches a carrier. Pure: creation, the API's pre-check and the program preview
 * all call these.
 */
import { mentionsStop } from "./template";
import { bodyCharacters, exceedsBodyLimit, TEMPLATE_LIMITS } from "./template-limits";

/**
 * The opt-out footer for marketing, unless the body already tells people how to stop.
 *
 * @example withFooter("Sale today", "Reply STOP to opt out.") // "Sale today Reply STOP to opt out."
 */
export function withFooter(body: string, footer: string): string {
  if (!footer || mentionsStop(body)) return body;
  return `${body}${body.includes("\n") ? "\n" : " "}${footer}`;
}

/** Why a final body (footer included) cannot be sent: longer than 1,600 characters; null when it can. */
export function bodyLimitError(body: string): string | null {
  if (!exceedsBodyLimit(body)) return null;
  const max = TEMPLATE_LIMITS.maxBodyChars.toLocaleString("en-US");
  return `the body is ${bodyCharacters(body).toLocaleString("en-US")} characters (opt-out footer included, when added); a message is at most ${max}`;
}
