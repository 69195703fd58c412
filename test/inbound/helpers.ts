import { vi } from "vitest";
import { twilioSign } from "../callbacks/helpers";
import { BASE, call } from "../helpers/api";
import type { TestTenant } from "../helpers/tenant";

export const TWILIO_SID = "AC0123456789abcdef0123456789abcdef";
export const TWILIO_TOKEN = "5eed5eed5eed5eed5eed5eed5eed5eed";

export async function twilioCarrier(t: TestTenant, extra: Record<string, unknown> = {}) {
  const res = await t.api.post<{ id: string; inbound_url: string }>("/v1/carriers", {
    provider: "twilio",
    credentials: { account_sid: TWILIO_SID, auth_token: TWILIO_TOKEN },
    from: ["+12125550100"],
    ...extra,
  });
  if (res.status !== 201) throw new Error(res.text);
  return res.body;
}

let sid = 0;

/** An inbound SMS the way Twilio posts it (form-encoded, signed over the public URL). */
export async function twilioInbound(
  carrier: { id: string },
  from: string,
  body: string,
  opts: { extra?: Record<string, string>; token?: string; messageSid?: string } = {},
) {
  sid += 1;
  const params: Record<string, string> = {
    ToCountry: "US",
    ToState: "NY",
    SmsMessageSid: opts.messageSid ?? `SM${String(sid).padStart(32, "0")}`,
    NumMedia: "0",
    ToCity: "NEW YORK",
    FromZip: "10118",
    SmsSid: opts.messageSid ?? `SM${String(sid).padStart(32, "0")}`,
    FromState: "NY",
    SmsStatus: "received",
    FromCity: "NEW YORK",
    Body: body,
    FromCountry: "US",
    To: "+12125550100",
    ToZip: "10001",
    NumSegments: "1",
    MessageSid: opts.messageSid ?? `SM${String(sid).padStart(32, "0")}`,
    AccountSid: TWILIO_SID,
    From: from,
    ApiVersion: "2010-04-01",
    ...opts.extra,
  };
  const path = `/callbacks/twilio/${carrier.id}/inbound`;
  const signature = await twilioSign(opts.token ?? TWILIO_TOKEN, BASE + path, params);
  return call<string>("POST", path, {
    rawBody: new URLSearchParams(params).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
  });
}

export interface Recorded {
  url: string;
  form?: URLSearchParams;
  body: string;
  headers: Record<string, string>;
}

/**
 * Fakes everything Herald calls at the HTTP boundary: Twilio's CreateMessage (201 with a sid) and
 * webhook receivers (200). Returns what was asked.
 */
export function fakeOutside() {
  const requests: Recorded[] = [];
  let n = 0;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    const text = await req.text();
    const rec: Recorded = { url: req.url, body: text, headers: Object.fromEntries(req.headers) };
    if (/\/Messages\.json$/.test(new URL(req.url).pathname)) {
      rec.form = new URLSearchParams(text);
      requests.push(rec);
      n += 1;
      return Response.json(
        {
          sid: `SM${String(n).padStart(32, "f")}`,
          status: "queued",
          to: rec.form.get("To"),
          from: rec.form.get("From"),
          body: rec.form.get("Body"),
          num_segments: "1",
          account_sid: TWILIO_SID,
          api_version: "2010-04-01",
        },
        { status: 201 },
      );
    }
    requests.push(rec);
    return new Response("ok", { status: 200 });
  });
  return requests;
}

/** Vonage's SMS API request signature (HMAC-SHA256 variant), written out from Vonage's docs. */
export async function vonageSig(secret: string, params: Record<string, string>): Promise<string> {
  const base = Object.keys(params)
    .sort()
    .map((k) => `&${k}=${(params[k] ?? "").replace(/[&=]/g, "_")}`)
    .join("");
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(base)));
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}
