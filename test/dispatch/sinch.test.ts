import { afterEach, describe, expect, it, vi } from "vitest";
import fixture from "../fixtures/sinch/sms-rest-api.json";
import { call } from "../helpers/api";
import { dispatch, events, insertCarrier, insertMessage, message, SINCH_PLAN, tenant } from "./fixtures";

afterEach(() => vi.restoreAllMocks());

interface Batch {
  url: string;
  auth: string | null;
  json: { to: string[]; from?: string; body: string; parameters: { body: Record<string, string> } } & Record<
    string,
    unknown
  >;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

/**
 * Sinch's Batches endpoint at the HTTP boundary (Herald's outbound webhooks answer 200). `reply`
 * decides per batch; the default is 201 with the fixture's response shape and a fresh batch id.
 */
function fakeSinch(reply: (b: Batch, n: number) => Answer | null = () => null) {
  const batches: Batch[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    const path = new URL(req.url).pathname;
    if (path !== `/xms/v1/${SINCH_PLAN}/batches`) {
      if (path.startsWith("/xms/")) throw new Error(`unexpected Sinch call ${req.method} ${req.url}`);
      return new Response("ok");
    }
    const b: Batch = { url: req.url, auth: req.headers.get("authorization"), json: await req.json() };
    batches.push(b);
    const r = reply(b, batches.length) ?? {
      status: 201,
      body: {
        ...fixture.batches.response_201_example,
        id: `BATCH${batches.length}`,
        to: b.json.to,
        from: b.json.from,
      },
    };
    return Response.json(r.body ?? {}, { status: r.status, headers: r.headers });
  });
  return batches;
}

/** A delivery report as Sinch posts it to the batch's callback_url. */
function deliveryReport(b: Batch, batchId: string, recipient: string, status: string, code: number) {
  const u = new URL(String(b.json.callback_url));
  return call("POST", u.pathname + u.search, {
    rawBody: JSON.stringify({
      ...fixture.recipient_delivery_report.example,
      batch_id: batchId,
      recipient,
      status,
      code,
      at: new Date().toISOString(),
    }),
    headers: { "content-type": "application/json" },
  });
}

describe("dispatch through Sinch (sendMany)", () => {
  it("sends a queue batch's messages as one Sinch batch, then delivery reports move each message", async () => {
    const t = await tenant();
    const carrierId = await insertCarrier(t.id, { provider: "sinch", from: ["+15005550006"] });
    const batches = fakeSinch();
    const phones = ["+14155550101", "+14155550102", "+14155550103"];
    const ids: string[] = [];
    for (const [i, to] of phones.entries())
      ids.push(await insertMessage(t.id, { to, body: `Your code is 10${i}` }));
    const result = await dispatch(ids);
    expect(result.retryMessages).toEqual([]);
    expect(batches).toHaveLength(1);
    const b = batches[0] as Batch;
    expect(b.auth).toBe("Bearer sinch-token");
    expect([...b.json.to].sort()).toEqual(["14155550101", "14155550102", "14155550103"]);
    expect(b.json.from).toBe("15005550006");
    expect(b.json.body).toBe(`\${body}`);
    expect(b.json.parameters.body).toEqual({
      "14155550101": "Your code is 100",
      "14155550102": "Your code is 101",
      "14155550103": "Your code is 102",
    });
    expect(b.json.delivery_report).toBe("per_recipient");
    const cb = new URL(String(b.json.callback_url));
    expect(cb.origin + cb.pathname).toBe(`https://herald.test/callbacks/sinch/${carrierId}`);
    expect(cb.searchParams.get("token")).toBeTruthy();
    expect(cb.searchParams.has("message_id")).toBe(false);
    for (const [i, id] of ids.entries()) {
      expect(await message(id)).toMatchObject({
        status: "sent",
        carrier_id: carrierId,
        carrier_message_id: `BATCH1:${phones[i]?.slice(1)}`,
        from: "+15005550006",
        attempts: 1,
      });
    }
    expect((await deliveryReport(b, "BATCH1", "14155550101", "Dispatched", 401)).status).toBe(204);
    expect((await deliveryReport(b, "BATCH1", "14155550101", "Delivered", 0)).status).toBe(204);
    expect((await deliveryReport(b, "BATCH1", "14155550102", "Delivered", 0)).status).toBe(204);
    expect((await deliveryReport(b, "BATCH1", "14155550103", "Expired", 406)).status).toBe(204);
    expect(await message(ids[0] as string)).toMatchObject({ status: "delivered" });
    expect(await message(ids[1] as string)).toMatchObject({ status: "delivered" });
    expect(await message(ids[2] as string)).toMatchObject({
      status: "undelivered",
      error_code: "406",
      error_message: "Sinch Expired: Internal expiry",
    });
    expect(await events(ids[0] as string)).toEqual(["sending", "sent", "delivered"]);
    expect(await events(ids[2] as string)).toEqual(["sending", "sent", "undelivered"]);
  });

  it("a refused batch is treated per recipient: the malformed number fails, the others are sent", async () => {
    const t = await tenant();
    await insertCarrier(t.id, { provider: "sinch" });
    const bad = "+14155550199";
    const batches = fakeSinch((b) =>
      b.json.to.includes(bad.slice(1)) ? { status: 400, body: fixture.batches.errors["400_example"] } : null,
    );
    const ids = [];
    for (const to of ["+14155550111", bad, "+14155550112", "+14155550113"])
      ids.push(await insertMessage(t.id, { to }));
    const result = await dispatch(ids);
    expect(result.retryMessages).toEqual([]);
    const [a, x, c, d] = await Promise.all(ids.map((id) => message(id)));
    for (const m of [a, c, d]) expect(m).toMatchObject({ status: "sent", attempts: 1 });
    expect(x).toMatchObject({ status: "failed", error_code: "syntax_invalid_parameter_format", attempts: 1 });
    // Every good recipient reached Sinch in exactly one accepted batch.
    const accepted = batches.filter((b) => !b.json.to.includes(bad.slice(1))).flatMap((b) => b.json.to);
    expect(accepted.sort()).toEqual(["14155550111", "14155550112", "14155550113"]);
  });

  it("two messages to one phone go in two batches (a recipient appears once per batch)", async () => {
    const t = await tenant();
    await insertCarrier(t.id, { provider: "sinch" });
    const batches = fakeSinch();
    const to = "+14155550121";
    const ids = [
      await insertMessage(t.id, { to, body: "first" }),
      await insertMessage(t.id, { to, body: "second" }),
    ];
    await dispatch(ids);
    expect(batches).toHaveLength(2);
    expect(batches.map((b) => b.json.parameters.body["14155550121"]).sort()).toEqual(["first", "second"]);
    const [m1, m2] = await Promise.all(ids.map((id) => message(id)));
    expect(m1?.status).toBe("sent");
    expect(m2?.status).toBe("sent");
    expect(m1?.carrier_message_id).not.toBe(m2?.carrier_message_id);
  });

  it("a lost answer leaves the batch sending; its reports still find each message (only when unambiguous)", async () => {
    const t = await tenant();
    const carrierId = await insertCarrier(t.id, { provider: "sinch" });
    const batches = fakeSinch();
    vi.mocked(globalThis.fetch).mockImplementationOnce(async (input, init) => {
      const req = new Request(input as RequestInfo, init);
      batches.push({ url: req.url, auth: null, json: await req.json() });
      throw new TypeError("Network connection lost.");
    });
    const ids = [
      await insertMessage(t.id, { to: "+14155550131" }),
      await insertMessage(t.id, { to: "+14155550132" }),
    ];
    const result = await dispatch(ids);
    expect(result.retryMessages).toEqual([]);
    for (const id of ids)
      expect(await message(id)).toMatchObject({ status: "sending", carrier_message_id: null });
    // An older message to the first phone also waits for its outcome: which one a report is about is unknown.
    await insertMessage(t.id, { to: "+14155550131", status: "sending", carrierId });
    const b = batches[0] as Batch;
    expect((await deliveryReport(b, "LOST1", "14155550131", "Delivered", 0)).status).toBe(204);
    expect((await deliveryReport(b, "LOST1", "14155550132", "Delivered", 0)).status).toBe(204);
    expect(await message(ids[0] as string)).toMatchObject({ status: "sending", carrier_message_id: null });
    expect(await message(ids[1] as string)).toMatchObject({
      status: "delivered",
      carrier_message_id: "LOST1:14155550132",
    });
  });

  it("429 with Retry-After retries every message of the batch, no sooner than asked", async () => {
    const t = await tenant();
    await insertCarrier(t.id, { provider: "sinch" });
    const batches = fakeSinch(() => ({ status: 429, body: {}, headers: { "retry-after": "30" } }));
    const ids = [await insertMessage(t.id), await insertMessage(t.id)];
    const result = await dispatch(ids);
    expect(batches).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(2);
    for (const r of result.retryMessages) expect(r.delaySeconds).toBeGreaterThanOrEqual(30);
    for (const id of ids)
      expect(await message(id)).toMatchObject({ status: "queued", attempts: 1, error_code: "http_429" });
  });
});
