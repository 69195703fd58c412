import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { adapters } from "../../src/carriers/registry";
import type { CarrierConfig, SendRequest } from "../../src/carriers/types";
import worker from "../../src/index";
import type { DispatchJob } from "../../src/pipeline/jobs";
import { events, insertCarrier, insertMessage, message, TWILIO_SID, tenant } from "../dispatch/fixtures";

/** Where a hostile carrier double redirects to: the cloud metadata endpoint. */
const INTERNAL = "http://169.254.169.254/latest/meta-data/iam/security-credentials/";

const req: SendRequest = {
  messageId: "msg_guard",
  to: "+15555550100",
  from: "+15555550199",
  body: "Your order #1042 now arrives Thu Dec 3.",
  statusCallbackUrl: "https://herald.example.com/callbacks/twilio/car_x/status?message_id=msg_guard",
};

const CONFIGS: Record<"twilio" | "telnyx" | "vonage", CarrierConfig> = {
  twilio: {
    id: "car_twilio",
    provider: "twilio",
    baseUrl: null,
    credentials: { account_sid: TWILIO_SID, auth_token: "0123456789abcdef0123456789abcdef" },
  },
  telnyx: { id: "car_telnyx", provider: "telnyx", baseUrl: null, credentials: { api_key: "KEY0123" } },
  vonage: {
    id: "car_vonage",
    provider: "vonage",
    baseUrl: null,
    credentials: { api_key: "abcd1234", api_secret: "Secret123456", signature_secret: "s" },
  },
};

/** An answer every adapter reads as "accepted": what a leak to the internal target would look like. */
const accepted = () =>
  new Response(
    JSON.stringify({
      sid: "SMleaked",
      data: { id: "leaked" },
      "message-count": "1",
      messages: [{ "message-id": "leaked", status: "0" }],
    }),
    { status: 201, headers: { "content-type": "application/json" } },
  );

/**
 * The HTTP boundary, behaving like fetch: `redirectHost` answers 302 to `INTERNAL`, which the
 * stub follows (as fetch does by default) unless the caller said `redirect: "manual"`.
 * Every request that reaches the network is recorded.
 */
function network(redirectHost = "carrier-proxy.example.com") {
  const seen: string[] = [];
  const follow = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new Request(input, init).url;
    seen.push(url);
    if (new URL(url).host !== redirectHost) return accepted();
    const res = new Response(null, { status: 302, headers: { location: INTERNAL } });
    return init?.redirect === "manual" ? res : follow(INTERNAL, { method: "GET" });
  };
  vi.spyOn(globalThis, "fetch").mockImplementation(follow);
  return seen;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("carrier calls never follow redirects", () => {
  it.each(["twilio", "telnyx", "vonage"] as const)("%s: a 302 is a retryable redirect_refused", async (p) => {
    const seen = network();
    const config = {
      ...CONFIGS[p],
      baseUrl: "https://carrier-proxy.example.com",
      outbound: { production: true },
    };
    const res = await adapters[p].send(config, req);
    expect(seen, "only the carrier was called").toHaveLength(1);
    expect(seen[0]).toMatch(/^https:\/\/carrier-proxy\.example\.com\//);
    expect(seen).not.toContain(INTERNAL);
    expect(res).toMatchObject({ outcome: "retryable", errorCode: "redirect_refused" });
    expect(res).not.toHaveProperty("maybeAccepted");
    if (res.outcome === "retryable") expect(res.errorMessage).toContain("HTTP 302");
  });
});

describe("carrier URLs are checked again right before each call", () => {
  it.each([
    ["twilio", "https://[::7f00:1]"],
    ["twilio", "https://[2002:7f00:1::]"],
    ["telnyx", "https://[64:ff9b::a9fe:a9fe]"],
    ["vonage", "https://10.0.0.7"],
    ["twilio", "http://127.0.0.1:8788"],
  ] as const)("%s with base_url %s: production makes no request", async (p, baseUrl) => {
    const seen = network();
    const res = await adapters[p].send({ ...CONFIGS[p], baseUrl, outbound: { production: true } }, req);
    expect(seen).toEqual([]);
    expect(res).toMatchObject({ outcome: "retryable", errorCode: "url_refused" });
    if (res.outcome === "retryable") expect(res.errorMessage).toContain("URL guard");
  });

  it("fails closed: a config without a policy is judged as production", async () => {
    const seen = network();
    const res = await adapters.twilio.send({ ...CONFIGS.twilio, baseUrl: "http://127.0.0.1:8788" }, req);
    expect(seen).toEqual([]);
    expect(res).toMatchObject({ outcome: "retryable", errorCode: "url_refused" });
  });

  it("development still calls a loopback http test double", async () => {
    const seen = network();
    const res = await adapters.twilio.send(
      { ...CONFIGS.twilio, baseUrl: "http://127.0.0.1:8788", outbound: { production: false } },
      req,
    );
    expect(seen).toEqual([`http://127.0.0.1:8788/2010-04-01/Accounts/${TWILIO_SID}/Messages.json`]);
    expect(res).toMatchObject({ outcome: "accepted", carrierMessageId: "SMleaked" });
  });
});

const prodEnv = { ...env, ENVIRONMENT: "production" };

/** The dispatch consumer on one queue batch, in production mode. */
async function dispatchInProduction(ids: string[]) {
  const batch = createMessageBatch<DispatchJob>(
    "herald-dispatch",
    ids.map((messageId, i) => ({
      id: `guard-${Date.now()}-${i}`,
      timestamp: new Date(),
      attempts: 1,
      body: { messageId },
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, prodEnv, ctx);
  return getQueueResult(batch, ctx);
}

describe("dispatch in production (real D1)", () => {
  it("refuses a private base_url stored before the rule, without calling it, and fails over", async () => {
    const t = await tenant();
    // Written straight into D1, past the API's write-time check: a row from before the rule
    // (the old guard let [2002:7f00:1::], 6to4 of 127.0.0.1, through) or from a development deploy.
    const stale = await insertCarrier(t.id, { priority: 0, baseUrl: "https://[2002:7f00:1::]" });
    const good = await insertCarrier(t.id, { priority: 5, baseUrl: "https://twilio-double.example.com" });
    const seen = network();
    const id = await insertMessage(t.id);

    const first = await dispatchInProduction([id]);
    expect(seen).toEqual([]);
    expect(first.retryMessages).toHaveLength(1);
    const m = await message(id);
    expect(m).toMatchObject({ status: "queued", attempts: 1, error_code: "url_refused" });
    expect(m.error_message).toContain("6to4 of 127.0.0.1");

    // The next attempt goes to the next carrier by priority.
    await env.DB.prepare("UPDATE messages SET next_attempt_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), id)
      .run();
    await dispatchInProduction([id]);
    expect(seen).toEqual([
      `https://twilio-double.example.com/2010-04-01/Accounts/${TWILIO_SID}/Messages.json`,
    ]);
    expect(await message(id)).toMatchObject({ status: "sent", carrier_id: good, attempts: 2 });
    expect(stale).not.toBe(good);
  });

  it("a loopback http base_url from a development deploy is refused once ENVIRONMENT is production", async () => {
    const t = await tenant();
    // Straight into D1: development accepted it at write time; the deploy is production now.
    await insertCarrier(t.id, { baseUrl: "http://127.0.0.1:8788" });
    const seen = network();
    const id = await insertMessage(t.id);
    await dispatchInProduction([id]);
    expect(seen).toEqual([]);
    const m = await message(id);
    expect(m).toMatchObject({ status: "queued", error_code: "url_refused" });
    expect(m.error_message).toContain("https://");
  });

  it("a carrier answering 302 is not followed: the attempt is a retry, nothing reaches the target", async () => {
    const t = await tenant();
    await insertCarrier(t.id, { baseUrl: "https://carrier-proxy.example.com" });
    const seen = network();
    const id = await insertMessage(t.id);
    await dispatchInProduction([id]);
    expect(seen).toEqual([
      `https://carrier-proxy.example.com/2010-04-01/Accounts/${TWILIO_SID}/Messages.json`,
    ]);
    const m = await message(id);
    expect(m).toMatchObject({ status: "queued", attempts: 1, error_code: "redirect_refused" });
    expect(m.carrier_message_id).toBeNull();
    expect(await events(id)).toEqual(["sending", "queued"]);
  });
});
