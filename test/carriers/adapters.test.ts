import { afterEach, describe, expect, it, vi } from "vitest";
import { adapters } from "../../src/carriers/registry";
import { type CarrierConfig, PROVIDERS, type SendRequest } from "../../src/carriers/types";
import fixture from "../fixtures/twilio-create-message.openapi.json";

interface Recorded {
  url: string;
  method: string;
  headers: Headers;
  body: string;
  signal: AbortSignal | null | undefined;
}

/** Stubs the carrier's HTTP API: every request is recorded and answered by `answer`. */
function stubCarrier(answer: (req: Recorded) => Response | Promise<Response>): Recorded[] {
  const seen: Recorded[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    const rec: Recorded = {
      url: req.url,
      method: req.method,
      headers: req.headers,
      body: new TextDecoder().decode(await req.arrayBuffer()),
      signal: init?.signal,
    };
    seen.push(rec);
    return answer(rec);
  });
  return seen;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

afterEach(() => vi.restoreAllMocks());

const SID = "AC0123456789abcdef0123456789abcdef";
const twilio: CarrierConfig = {
  id: "car_twilio",
  provider: "twilio",
  baseUrl: null,
  credentials: { account_sid: SID, auth_token: "0123456789abcdef0123456789abcdef" },
};
const req: SendRequest = {
  messageId: "msg_0001",
  to: "+15555550100",
  from: "+15555550199",
  body: "Your order #1042 now arrives Thu Dec 3.",
  validitySeconds: 90_000,
  statusCallbackUrl: "https://herald.example.com/callbacks/twilio/car_twilio/status?message_id=msg_0001",
};

type Schema = { type?: string; format?: string; pattern?: string; enum?: string[] };
const createMessage = fixture.requestBody.content["application/x-www-form-urlencoded"].schema as unknown as {
  required: string[];
  properties: Record<string, Schema>;
};

/** Checks one recorded request against Twilio's own OpenAPI description of CreateMessage. */
function expectValidCreateMessage(rec: Recorded) {
  const server = (fixture.servers as { url: string }[])[0]?.url ?? "";
  const template = new RegExp(
    `^${server.replace(/[.]/g, "\\.")}${fixture.path.replace("{AccountSid}", "([^/]+)").replace(/[.]/g, "\\.")}$`,
  );
  const m = template.exec(rec.url);
  expect(m, `${rec.url} matches ${fixture.path}`).not.toBeNull();
  const accountSid = m?.[1] ?? "";
  const sidParam = (fixture.parameters as { name: string; schema: { pattern: string } }[]).find(
    (p) => p.name === "AccountSid",
  );
  expect(accountSid).toMatch(new RegExp(sidParam?.schema.pattern ?? "^$"));
  expect(rec.method.toLowerCase()).toBe(fixture.method);
  expect(rec.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
  const form = new URLSearchParams(rec.body);
  for (const field of createMessage.required) expect(form.has(field), `required ${field}`).toBe(true);
  expect(
    Number(form.has("From")) + Number(form.has("MessagingServiceSid")),
    "one of From/MessagingServiceSid",
  ).toBe(1);
  for (const [key, value] of form) {
    const prop = createMessage.properties[key];
    expect(prop, `${key} is a CreateMessage field`).toBeDefined();
    if (!prop) continue;
    if (prop.type === "integer") expect(value).toMatch(/^-?\d+$/);
    if (prop.type === "boolean") expect(["true", "false"]).toContain(value);
    if (prop.pattern) expect(value).toMatch(new RegExp(prop.pattern));
    if (prop.format === "phone-number") expect(value).toMatch(/^\+[1-9]\d{6,14}$/);
    if (prop.format === "uri") {
      const u = new URL(value);
      expect(u.hostname, "StatusCallback hostname has no underscores").not.toContain("_");
    }
    if (prop.enum) expect(prop.enum).toContain(value);
  }
  const validity = form.get("ValidityPeriod");
  if (validity !== null) {
    expect(Number(validity)).toBeGreaterThanOrEqual(1);
    expect(Number(validity)).toBeLessThanOrEqual(36_000);
  }
}

describe("registry", () => {
  it("has an adapter for every provider", () => {
    for (const p of PROVIDERS) expect(adapters[p].provider).toBe(p);
  });

  it("sandbox records and delivers without any network call", async () => {
    const seen = stubCarrier(() => json(500, {}));
    const res = await adapters.sandbox.send(
      { id: null, provider: "sandbox", baseUrl: null, credentials: {} },
      req,
    );
    expect(res).toEqual({ outcome: "accepted", carrierMessageId: "sbx_msg_0001", status: "delivered" });
    expect(seen).toHaveLength(0);
  });
});

describe("twilio adapter", () => {
  it("posts a CreateMessage request that satisfies Twilio's OpenAPI description", async () => {
    const seen = stubCarrier(() =>
      json(201, { sid: "SM0123456789abcdef0123456789abcdef", status: "queued" }),
    );
    const res = await adapters.twilio.send(twilio, req);
    expect(res).toEqual({
      outcome: "accepted",
      carrierMessageId: "SM0123456789abcdef0123456789abcdef",
      status: "sent",
    });
    expect(seen).toHaveLength(1);
    const rec = seen[0] as Recorded;
    expectValidCreateMessage(rec);
    expect(rec.url).toBe(`https://api.twilio.com/2010-04-01/Accounts/${SID}/Messages.json`);
    expect(rec.headers.get("authorization")).toBe(`Basic ${btoa(`${SID}:0123456789abcdef0123456789abcdef`)}`);
    const form = new URLSearchParams(rec.body);
    expect(Object.fromEntries(form)).toEqual({
      To: "+15555550100",
      From: "+15555550199",
      Body: req.body,
      StatusCallback: req.statusCallbackUrl,
      ValidityPeriod: "36000",
    });
    expect(rec.signal, "carrier calls are abortable (timeout)").toBeInstanceOf(AbortSignal);
  });

  it("sends MessagingServiceSid instead of From, and honours base_url", async () => {
    const seen = stubCarrier(() => json(201, { sid: "SM1" }));
    await adapters.twilio.send(
      { ...twilio, baseUrl: "http://127.0.0.1:8788/", outbound: { production: false } },
      {
        ...req,
        from: undefined,
        messagingServiceSid: "MG0123456789abcdef0123456789abcdef",
        validitySeconds: 600,
      },
    );
    const rec = seen[0] as Recorded;
    expect(rec.url).toBe(`http://127.0.0.1:8788/2010-04-01/Accounts/${SID}/Messages.json`);
    expectValidCreateMessage({
      ...rec,
      url: rec.url.replace("http://127.0.0.1:8788", "https://api.twilio.com"),
    });
    const form = new URLSearchParams(rec.body);
    expect(form.get("MessagingServiceSid")).toBe("MG0123456789abcdef0123456789abcdef");
    expect(form.has("From")).toBe(false);
    expect(form.get("ValidityPeriod")).toBe("600");
  });

  it("classifies 429 (with Retry-After) and 5xx as retryable", async () => {
    stubCarrier(() => json(429, { code: 20429, message: "Too Many Requests" }, { "retry-after": "7" }));
    expect(await adapters.twilio.send(twilio, req)).toEqual({
      outcome: "retryable",
      errorCode: "20429",
      errorMessage: "Too Many Requests",
      retryAfterSeconds: 7,
    });
    vi.restoreAllMocks();
    stubCarrier(() => new Response("upstream down", { status: 503 }));
    const res = await adapters.twilio.send(twilio, req);
    expect(res.outcome).toBe("retryable");
    expect(res).not.toHaveProperty("maybeAccepted", true);
  });

  it.each([
    ["21211", "The 'To' number is not a valid phone number.", false],
    ["21614", "'To' number is not a valid mobile number", false],
    ["21612", "The 'To' phone number is not currently reachable", false],
    ["21408", "Permission to send an SMS has not been enabled for the region", false],
    ["21610", "Attempt to send to unsubscribed recipient", true],
  ])("classifies error %s as permanent (opted out: %s)", async (code, message, optedOut) => {
    stubCarrier(() => json(400, { code: Number(code), message, more_info: "", status: 400 }));
    const res = await adapters.twilio.send(twilio, req);
    expect(res).toEqual({
      outcome: "permanent",
      errorCode: code,
      errorMessage: message,
      ...(optedOut ? { optedOut: true } : {}),
    });
  });

  it("treats bad credentials as retryable so another carrier can take the message", async () => {
    stubCarrier(() => json(401, { code: 20003, message: "Authenticate" }));
    expect((await adapters.twilio.send(twilio, req)).outcome).toBe("retryable");
  });

  it("marks network errors and timeouts as retryable and maybe accepted", async () => {
    vi.spyOn(globalThis, "fetch").mockRejectedValueOnce(new TypeError("Network connection lost."));
    expect(await adapters.twilio.send(twilio, req)).toMatchObject({
      outcome: "retryable",
      errorCode: "network_error",
      maybeAccepted: true,
    });
    vi.restoreAllMocks();
    vi.spyOn(globalThis, "fetch").mockRejectedValueOnce(
      new DOMException("The operation timed out.", "TimeoutError"),
    );
    expect(await adapters.twilio.send(twilio, req)).toMatchObject({
      outcome: "retryable",
      errorCode: "timeout",
      maybeAccepted: true,
    });
  });
});

describe("telnyx adapter", () => {
  const telnyx: CarrierConfig = {
    id: "car_telnyx",
    provider: "telnyx",
    baseUrl: null,
    credentials: { api_key: "KEY0123456789ABCDEF", public_key: "" },
  };

  it("posts /v2/messages with Bearer auth and a per-message webhook_url", async () => {
    const seen = stubCarrier(() =>
      json(200, { data: { id: "40385f64-5717-4562-b3fc-2c963f66afa6", to: [{ status: "queued" }] } }),
    );
    const res = await adapters.telnyx.send(telnyx, req);
    expect(res).toEqual({
      outcome: "accepted",
      carrierMessageId: "40385f64-5717-4562-b3fc-2c963f66afa6",
      status: "sent",
    });
    const rec = seen[0] as Recorded;
    expect(rec.url).toBe("https://api.telnyx.com/v2/messages");
    expect(rec.method).toBe("POST");
    expect(rec.headers.get("authorization")).toBe("Bearer KEY0123456789ABCDEF");
    expect(rec.headers.get("content-type")).toBe("application/json");
    expect(JSON.parse(rec.body)).toEqual({
      from: "+15555550199",
      to: "+15555550100",
      text: req.body,
      webhook_url: req.statusCallbackUrl,
      use_profile_webhooks: false,
    });
  });

  it("classifies 40300 as opted out, other 4xx as permanent, 5xx as retryable", async () => {
    stubCarrier(() =>
      json(400, {
        errors: [{ code: "40300", title: "Blocked due to STOP message", detail: "Recipient opted out" }],
      }),
    );
    expect(await adapters.telnyx.send(telnyx, req)).toEqual({
      outcome: "permanent",
      errorCode: "40300",
      errorMessage: "Recipient opted out",
      optedOut: true,
    });
    vi.restoreAllMocks();
    stubCarrier(() => json(422, { errors: [{ code: "40310", title: "Invalid 'to' address" }] }));
    expect(await adapters.telnyx.send(telnyx, req)).toMatchObject({
      outcome: "permanent",
      errorCode: "40310",
    });
    vi.restoreAllMocks();
    stubCarrier(() =>
      json(503, { errors: [{ code: "10011", title: "Service unavailable" }] }, { "retry-after": "30" }),
    );
    expect(await adapters.telnyx.send(telnyx, req)).toMatchObject({
      outcome: "retryable",
      retryAfterSeconds: 30,
    });
  });
});

describe("vonage adapter", () => {
  const vonage: CarrierConfig = {
    id: "car_vonage",
    provider: "vonage",
    baseUrl: null,
    credentials: { api_key: "abcd1234", api_secret: "Secret123456" },
  };
  const ok = (id: string) =>
    json(200, { "message-count": "1", messages: [{ to: "15555550100", "message-id": id, status: "0" }] });

  it("posts the SMS API form with client-ref, a DLR request and ttl in ms", async () => {
    const seen = stubCarrier(() => ok("0A0000000123ABCD1"));
    const res = await adapters.vonage.send(vonage, { ...req, validitySeconds: 3600 });
    expect(res).toEqual({ outcome: "accepted", carrierMessageId: "0A0000000123ABCD1", status: "sent" });
    const rec = seen[0] as Recorded;
    expect(rec.url).toBe("https://rest.nexmo.com/sms/json");
    expect(rec.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    const form = Object.fromEntries(new URLSearchParams(rec.body));
    expect(form).toMatchObject({
      api_key: "abcd1234",
      api_secret: "Secret123456",
      from: "15555550199",
      to: "15555550100",
      text: req.body,
      type: "text",
      "client-ref": "msg_0001",
      "status-report-req": "true",
      ttl: "3600000",
    });
  });

  it("uses type=unicode outside GSM-7", async () => {
    const seen = stubCarrier(() => ok("X"));
    await adapters.vonage.send(vonage, { ...req, body: "We’re sorry 🙏" });
    expect(new URLSearchParams((seen[0] as Recorded).body).get("type")).toBe("unicode");
  });

  it("classifies submit statuses: 1 throttled retryable, 7 barred = opted out, 3 permanent", async () => {
    const status = (s: string, text: string) =>
      json(200, { "message-count": "1", messages: [{ status: s, "error-text": text }] });
    stubCarrier(() => status("1", "Throttled"));
    expect((await adapters.vonage.send(vonage, req)).outcome).toBe("retryable");
    vi.restoreAllMocks();
    stubCarrier(() => status("7", "Number barred."));
    expect(await adapters.vonage.send(vonage, req)).toEqual({
      outcome: "permanent",
      errorCode: "7",
      errorMessage: "Number barred.",
      optedOut: true,
    });
    vi.restoreAllMocks();
    stubCarrier(() => status("3", "Invalid to number"));
    expect(await adapters.vonage.send(vonage, req)).toMatchObject({ outcome: "permanent", errorCode: "3" });
  });
});
