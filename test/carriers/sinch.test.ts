import { afterEach, describe, expect, it, vi } from "vitest";
import { adapters } from "../../src/carriers/registry";
import { planSinchBatches } from "../../src/carriers/sinch/send";
import { parseSinchEvent, sinchSignature, verifySinchSignature } from "../../src/carriers/sinch/webhooks";
import type { CarrierConfig, SendRequest, SendResult } from "../../src/carriers/types";
import fixture from "../fixtures/sinch/sms-rest-api.json";

interface Recorded {
  url: string;
  method: string;
  headers: Headers;
  json: Record<string, unknown>;
}

/** Fakes Sinch's Batches endpoint at the HTTP boundary: every request is recorded and answered by `answer`. */
function stubSinch(answer: (req: Recorded, n: number) => Response | "network-error"): Recorded[] {
  const seen: Recorded[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    const rec: Recorded = {
      url: req.url,
      method: req.method,
      headers: req.headers,
      json: JSON.parse(await req.text()) as Record<string, unknown>,
    };
    seen.push(rec);
    const a = answer(rec, seen.length);
    if (a === "network-error") throw new TypeError("Network connection lost.");
    return a;
  });
  return seen;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** Sinch's 201 for a recorded batch: the fixture's example with this batch's recipients. */
const created = (rec: Recorded, id = "01FC66621XXXXX119Z8PMV1QPQ") =>
  json(201, { ...fixture.batches.response_201_example, id, to: rec.json.to, from: rec.json.from });

afterEach(() => vi.restoreAllMocks());

const sinch: CarrierConfig = {
  id: "car_sinch",
  provider: "sinch",
  baseUrl: null,
  credentials: { service_plan_id: "0123456789abcdef0123456789abcdef", api_token: "tok_0123456789abcdef" },
};
const CALLBACK = "https://herald.example.com/callbacks/sinch/car_sinch?token=t0k3n";
const req = (over: Partial<SendRequest> = {}): SendRequest => ({
  messageId: "msg_0001",
  to: "+15555550100",
  from: "+15555550199",
  body: `Your order #1042 now arrives Thu Dec 3. Reply \${STOP} to opt out.`,
  validitySeconds: 90_000,
  statusCallbackUrl: `${CALLBACK}&message_id=msg_0001`,
  ...over,
});

type Prop = { type?: string; enum?: string[]; pattern?: string; maxItems?: number; format?: string };
const props = fixture.batches.request.properties as Record<string, Prop>;

/** Checks one recorded request against the Batches shapes recorded in the fixture. */
function expectValidBatch(rec: Recorded) {
  const path = fixture.batches.path.replace("{service_plan_id}", sinch.credentials.service_plan_id ?? "");
  expect(rec.url).toBe(`${fixture.batches.server}${path}`);
  expect(rec.method.toLowerCase()).toBe(fixture.batches.method);
  expect(rec.headers.get("authorization")).toBe(
    fixture.batches.authorization.replace("{api_token}", sinch.credentials.api_token ?? ""),
  );
  expect(rec.headers.get("content-type")).toBe(fixture.batches.content_type);
  for (const field of fixture.batches.request.required)
    expect(rec.json, `required ${field}`).toHaveProperty(field);
  for (const [key, value] of Object.entries(rec.json)) {
    const prop = props[key];
    expect(prop, `${key} is a Batches field`).toBeDefined();
    if (prop?.enum) expect(prop.enum).toContain(value);
    if (prop?.format === "date-time") expect(Number.isNaN(Date.parse(String(value)))).toBe(false);
    if (prop?.format === "uri") expect(() => new URL(String(value))).not.toThrow();
  }
  const to = rec.json.to as string[];
  expect(to.length).toBeGreaterThan(0);
  expect(to.length).toBeLessThanOrEqual(props.to?.maxItems ?? 0);
  expect(new Set(to).size, "each recipient once per batch").toBe(to.length);
  const items = fixture.batches.request.properties.to.items.pattern;
  for (const t of to) expect(t).toMatch(new RegExp(items));
  // Every placeholder of the body has a value for every recipient (else Sinch fails that recipient).
  const params = (rec.json.parameters ?? {}) as Record<string, Record<string, string>>;
  const keyPattern = new RegExp(fixture.batches.request.properties.parameters.keyPattern);
  for (const [, key] of String(rec.json.body).matchAll(/\$\{([^}]*)\}/g)) {
    expect(key).toMatch(keyPattern);
    const values = params[key as string] ?? {};
    for (const t of to) expect(values[t] ?? values.default, `${key} for ${t}`).toBeTypeOf("string");
  }
  if (rec.json.expire_at) {
    const seconds = (Date.parse(String(rec.json.expire_at)) - Date.now()) / 1000;
    expect(seconds).toBeLessThanOrEqual(fixture.batches.request.properties.expire_at.maxSecondsAfterSend);
  }
}

describe("sinch adapter: send", () => {
  it("posts one batch that satisfies the recorded Batches shape, the body as a per-recipient parameter", async () => {
    const seen = stubSinch((rec) => created(rec));
    const res = await adapters.sinch.send(sinch, req());
    expect(res).toEqual({
      outcome: "accepted",
      carrierMessageId: "01FC66621XXXXX119Z8PMV1QPQ:15555550100",
      status: "sent",
    });
    expect(seen).toHaveLength(1);
    const rec = seen[0] as Recorded;
    expectValidBatch(rec);
    const { expire_at, ...rest } = rec.json;
    expect(rest).toEqual({
      to: ["15555550100"],
      from: "15555550199",
      body: `\${body}`,
      parameters: { body: { "15555550100": req().body } },
      type: "mt_text",
      delivery_report: "per_recipient",
      callback_url: CALLBACK,
      client_reference: "msg_0001",
    });
    // min(validity left, 3 days): 25 h from now.
    expect(Date.parse(String(expire_at)) - Date.now()).toBeGreaterThan(89_990_000);
    expect(Date.parse(String(expire_at)) - Date.now()).toBeLessThanOrEqual(90_000_000);
  });

  it("uses base_url and caps expire_at at three days", async () => {
    const seen = stubSinch((rec) => created(rec));
    await adapters.sinch.send(
      { ...sinch, baseUrl: "https://eu.sms.api.sinch.com/" },
      req({ validitySeconds: 9e6 }),
    );
    expect(seen[0]?.url).toBe(
      `https://eu.sms.api.sinch.com/xms/v1/${sinch.credentials.service_plan_id}/batches`,
    );
    const seconds = (Date.parse(String(seen[0]?.json.expire_at)) - Date.now()) / 1000;
    expect(seconds).toBeGreaterThan(259_000);
    expect(seconds).toBeLessThanOrEqual(259_200);
  });

  it("maps 400, 401, 403, 429 (Retry-After), 5xx, a missing id and network errors", async () => {
    const cases: [Response | "network-error", Partial<SendResult> & { outcome: string }][] = [
      [
        json(400, fixture.batches.errors["400_example"]),
        { outcome: "permanent", errorCode: "syntax_invalid_parameter_format" },
      ],
      [new Response("", { status: 401 }), { outcome: "retryable", errorCode: "http_401" }],
      [
        json(403, { code: "blocked_account", text: "Account blocked" }),
        { outcome: "retryable", errorCode: "blocked_account" },
      ],
      [
        json(403, fixture.batches.errors["403_example"]),
        { outcome: "permanent", errorCode: "illegal_number_type" },
      ],
      [
        json(429, {}, { "retry-after": "7" }),
        { outcome: "retryable", errorCode: "http_429", retryAfterSeconds: 7 },
      ],
      [json(503, {}), { outcome: "retryable", errorCode: "http_503" }],
      [json(201, { to: ["15555550100"] }), { outcome: "retryable", maybeAccepted: true }],
      ["network-error", { outcome: "retryable", errorCode: "network_error", maybeAccepted: true }],
    ];
    for (const [answer, expected] of cases) {
      vi.restoreAllMocks();
      stubSinch(() => (answer === "network-error" ? answer : answer.clone()));
      const res = await adapters.sinch.send(sinch, req());
      expect(res, JSON.stringify(expected)).toMatchObject(expected);
      if (res.outcome === "permanent") expect(res.optedOut).toBeUndefined();
    }
  });
});

describe("sinch adapter: sendMany", () => {
  const many = (n: number, over: (i: number) => Partial<SendRequest> = () => ({})) =>
    Array.from({ length: n }, (_, i) =>
      req({
        messageId: `msg_${i}`,
        to: `+1555555${String(1000 + i)}`,
        body: `Hello #${i}`,
        statusCallbackUrl: `${CALLBACK}&message_id=msg_${i}`,
        ...over(i),
      }),
    );

  it("sends one batch for many recipients and maps each result back to its recipient", async () => {
    const seen = stubSinch((rec) => created(rec, "BATCH1"));
    const reqs = many(3);
    const results = await adapters.sinch.sendMany?.(sinch, reqs);
    expect(seen).toHaveLength(1);
    const rec = seen[0] as Recorded;
    expectValidBatch(rec);
    expect(rec.json.to).toEqual(["15555551000", "15555551001", "15555551002"]);
    expect(rec.json.parameters).toEqual({
      body: { "15555551000": "Hello #0", "15555551001": "Hello #1", "15555551002": "Hello #2" },
    });
    expect(rec.json.callback_url).toBe(CALLBACK);
    expect(rec.json).not.toHaveProperty("client_reference");
    expect(results).toEqual(
      ["15555551000", "15555551001", "15555551002"].map((r) => ({
        outcome: "accepted",
        carrierMessageId: `BATCH1:${r}`,
        status: "sent",
      })),
    );
  });

  it("splits batches by sender and by repeated recipient", async () => {
    let n = 0;
    const seen = stubSinch((rec) => created(rec, `B${++n}`));
    const reqs = [
      ...many(2),
      req({ messageId: "msg_dup", to: "+15555551000", body: "again" }),
      req({ messageId: "msg_other", to: "+15555551009", from: "+15555550188" }),
    ];
    const results = await adapters.sinch.sendMany?.(sinch, reqs);
    expect(seen).toHaveLength(3);
    for (const rec of seen) expectValidBatch(rec);
    const ids = (results ?? []).map((r) => (r.outcome === "accepted" ? r.carrierMessageId : r.outcome));
    expect(new Set(ids).size).toBe(4);
    expect(ids[0]?.endsWith(":15555551000")).toBe(true);
    expect(ids[2]?.endsWith(":15555551000")).toBe(true);
    expect(ids[0]?.split(":")[0]).not.toBe(ids[2]?.split(":")[0]);
  });

  it("plans at most `max` recipients per batch, one sender each, each recipient once", () => {
    const reqs = [...many(5), req({ to: "+15555551000" }), req({ to: "+15555551004", from: "+15555550188" })];
    expect(planSinchBatches(reqs, 2)).toEqual([[0, 1], [2, 3], [4, 5], [6]]);
  });

  it("a batch refused for one bad number is split until that number stands alone; the rest go", async () => {
    const seen = stubSinch((rec) =>
      (rec.json.to as string[]).includes("15555551002")
        ? json(400, fixture.batches.errors["400_example"])
        : created(rec, `B${(rec.json.to as string[]).join("-")}`),
    );
    const results = (await adapters.sinch.sendMany?.(sinch, many(4))) ?? [];
    expect(results.map((r) => r.outcome)).toEqual(["accepted", "accepted", "permanent", "accepted"]);
    expect(results[2]).toMatchObject({ errorCode: "syntax_invalid_parameter_format" });
    // 4 → 2+2 → the bad pair → 1+1: five requests, never the good ones twice.
    expect(seen).toHaveLength(5);
    const sentOk = seen
      .filter((r) => !(r.json.to as string[]).includes("15555551002"))
      .flatMap((r) => r.json.to);
    expect(sentOk.sort()).toEqual(["15555551000", "15555551001", "15555551003"]);
  });

  it("a refusal of the request itself (invalid JSON, constraint violation) is not split", async () => {
    const seen = stubSinch(() =>
      json(400, { code: "syntax_constraint_violation", text: "body is required" }),
    );
    const results = (await adapters.sinch.sendMany?.(sinch, many(4))) ?? [];
    expect(seen).toHaveLength(1);
    expect(results.map((r) => (r.outcome === "permanent" ? r.errorCode : r.outcome))).toEqual(
      Array(4).fill("syntax_constraint_violation"),
    );
  });

  it("a retryable answer is every request's, and a recipient Sinch left out of the batch is refused alone", async () => {
    stubSinch(() => json(503, {}));
    const down = (await adapters.sinch.sendMany?.(sinch, many(3))) ?? [];
    expect(down.map((r) => r.outcome)).toEqual(["retryable", "retryable", "retryable"]);
    vi.restoreAllMocks();
    stubSinch((rec) => json(201, { id: "B", to: (rec.json.to as string[]).slice(1) }));
    const partial = (await adapters.sinch.sendMany?.(sinch, many(3))) ?? [];
    expect(partial.map((r) => r.outcome)).toEqual(["permanent", "accepted", "accepted"]);
    expect(partial[0]).toMatchObject({ errorCode: "recipient_rejected" });
  });
});

describe("sinch callbacks (pure)", () => {
  const ka = fixture.callback_signature.known_answer;

  it("computes Sinch's signature of body.nonce.timestamp (known answer from Sinch's SDK tests)", async () => {
    expect(await sinchSignature(ka.secret, ka.body, ka.nonce, ka.timestamp)).toBe(ka.signature);
    const headers = { signature: ka.signature, nonce: ka.nonce, timestamp: ka.timestamp, algorithm: null };
    const at = Number(ka.timestamp) * 1000;
    expect(await verifySinchSignature(ka.secret, ka.body, headers, at)).toBe(true);
    expect(await verifySinchSignature(ka.secret, `${ka.body} `, headers, at)).toBe(false);
    expect(await verifySinchSignature("other", ka.body, headers, at)).toBe(false);
    expect(await verifySinchSignature(ka.secret, ka.body, { ...headers, nonce: "x" }, at)).toBe(false);
    expect(await verifySinchSignature(ka.secret, ka.body, { ...headers, algorithm: "HmacMD5" }, at)).toBe(
      false,
    );
    expect(await verifySinchSignature(ka.secret, ka.body, { ...headers, signature: null }, at)).toBe(false);
    // Retries come for ~23 h: a day-old timestamp is still accepted, older or future ones are not.
    expect(await verifySinchSignature(ka.secret, ka.body, headers, at + 23 * 3_600_000)).toBe(true);
    expect(await verifySinchSignature(ka.secret, ka.body, headers, at + 25 * 3_600_000)).toBe(false);
    expect(await verifySinchSignature(ka.secret, ka.body, headers, at - 600_000)).toBe(false);
    const sig512 = await sinchSignature(ka.secret, ka.body, ka.nonce, ka.timestamp, "SHA-512");
    expect(
      await verifySinchSignature(
        ka.secret,
        ka.body,
        { ...headers, signature: sig512, algorithm: "HmacSHA512" },
        at,
      ),
    ).toBe(true);
  });

  it("reads recipient delivery reports and mo_text as recorded in the fixture", () => {
    const dr = fixture.recipient_delivery_report.example;
    for (const f of fixture.recipient_delivery_report.required) expect(dr).toHaveProperty(f);
    expect(parseSinchEvent(dr)).toEqual({
      kind: "status",
      update: {
        status: "delivered",
        carrierMessageId: `${dr.batch_id}:15551231234`,
        recipient: "+15551231234",
      },
    });
    const statuses: Record<string, string | null> = {
      Queued: null,
      Dispatched: "sent",
      Aborted: "failed",
      Cancelled: "failed",
      Rejected: "failed",
      Deleted: "undelivered",
      Delivered: "delivered",
      Failed: "undelivered",
      Expired: "undelivered",
      Unknown: null,
    };
    expect(Object.keys(statuses).sort()).toEqual(
      [...fixture.recipient_delivery_report.properties.status.enum].sort(),
    );
    for (const [status, ours] of Object.entries(statuses)) {
      const ev = parseSinchEvent({ ...dr, status, code: 402 });
      expect(ev.kind === "status" ? ev.update.status : null, status).toBe(ours);
    }
    expect(parseSinchEvent({ ...dr, status: "Failed", code: 402, client_reference: "msg_0001" })).toEqual({
      kind: "status",
      update: {
        status: "undelivered",
        carrierMessageId: `${dr.batch_id}:15551231234`,
        recipient: "+15551231234",
        messageIdHint: "msg_0001",
        errorCode: "402",
        errorMessage: "Sinch Failed: Message unroutable",
      },
    });
    const mo = fixture.mo_text.example;
    for (const f of fixture.mo_text.required) expect(mo).toHaveProperty(f);
    expect(parseSinchEvent(mo)).toEqual({
      kind: "inbound",
      sms: { from: "+15551231234", to: "+15557654321", body: "STOP", carrierMessageId: mo.id },
    });
    expect(parseSinchEvent({ type: "delivery_report_sms", batch_id: "x" })).toEqual({ kind: "ignored" });
  });
});
