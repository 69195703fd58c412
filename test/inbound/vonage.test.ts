import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call } from "../helpers/api";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { waitFor } from "../hooks/helpers";
import { vonageSig } from "./helpers";

const SIGNATURE_SECRET = "vonage-signature-secret-0123456789";
const PHONE = "+12125550142";

afterEach(() => vi.restoreAllMocks());

/** Vonage's SMS API at the HTTP boundary: POST /sms/json answers `{messages: [{status: "0", message-id}]}`. */
function fakeVonage() {
  const sent: URLSearchParams[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (new URL(req.url).pathname === "/sms/json") {
      const form = new URLSearchParams(await req.text());
      sent.push(form);
      return Response.json({
        "message-count": "1",
        messages: [
          {
            to: form.get("to"),
            "message-id": `0A00000${sent.length}`,
            status: "0",
            "message-price": "0.0079",
          },
        ],
      });
    }
    return new Response("ok");
  });
  return sent;
}

async function vonageCarrier(t: TestTenant) {
  const res = await t.api.post<{ id: string }>("/v1/carriers", {
    provider: "vonage",
    credentials: { api_key: "a1b2c3d4", api_secret: "S3cretS3cret1234", signature_secret: SIGNATURE_SECRET },
    from: ["+12125550100"],
    base_url: "https://vonage-double.example.com",
    mps: 30,
  });
  if (res.status !== 201) throw new Error(res.text);
  return res.body;
}

let n = 0;
async function inbound(carrierId: string, text: string, sig?: string) {
  n += 1;
  const params: Record<string, string> = {
    msisdn: PHONE.slice(1),
    to: "12125550100",
    messageId: `1000000${n}`,
    text,
    type: "text",
    keyword: text.split(" ")[0]?.toUpperCase() ?? "",
    "message-timestamp": new Date().toISOString().slice(0, 19).replace("T", " "),
    timestamp: String(Math.floor(Date.now() / 1000)),
    nonce: crypto.randomUUID(),
  };
  params.sig = sig ?? (await vonageSig(SIGNATURE_SECRET, params));
  return call("POST", `/callbacks/vonage/${carrierId}/inbound`, {
    rawBody: new URLSearchParams(params).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
}

describe("Vonage inbound", () => {
  it("STOP unsubscribes and the stop_text reply goes out once through that carrier, even to an opted-out phone", async () => {
    const sent = fakeVonage();
    const t = await newTenant();
    await t.api.patch("/v1/tenant", {
      stop_text: "Northwind: you're unsubscribed. Reply START to resubscribe.",
    });
    const carrier = await vonageCarrier(t);
    const c = (await t.api.post<{ id: string }>("/v1/contacts", { phone: PHONE })).body;
    const res = await inbound(carrier.id, "Stop");
    expect(res.status).toBe(204);
    expect((await t.api.get<{ subscribed: boolean }>(`/v1/contacts/${c.id}`)).body.subscribed).toBe(false);
    await waitFor(async () => sent.length > 0, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.get("to")).toBe("12125550142");
    expect(sent[0]?.get("text")).toBe("Northwind: you're unsubscribed. Reply START to resubscribe.");
    const reply = await env.DB.prepare(
      "SELECT status, category FROM messages WHERE tenant_id = ? AND carrier_id = ?",
    )
      .bind(t.id, carrier.id)
      .first<{ status: string; category: string }>();
    expect(reply?.category).toBe("transactional");
  });

  it("HELP answers with the default help text (brand, rates, how to stop)", async () => {
    const sent = fakeVonage();
    const t = await newTenant({ brand_name: "Northwind" });
    const carrier = await vonageCarrier(t);
    await inbound(carrier.id, "help");
    await waitFor(async () => sent.length > 0, 10_000);
    const text = sent[0]?.get("text") ?? "";
    expect(text).toContain("Northwind");
    expect(text).toContain("Msg & data rates may apply");
    expect(text).toContain("STOP");
  });

  it("403 for a wrong signature", async () => {
    fakeVonage();
    const t = await newTenant();
    const carrier = await vonageCarrier(t);
    expect((await inbound(carrier.id, "STOP", "0".repeat(64))).status).toBe(403);
  });
});
