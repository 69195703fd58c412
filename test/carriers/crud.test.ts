import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { carriers } from "../../src/db/schema";
import worker from "../../src/index";
import { listActiveCarriers, loadCarrierConfig } from "../../src/services/carriers/config";
import { statusCallbackUrlFor } from "../../src/services/carriers/urls";
import { serviceContext } from "../../src/services/context";
import { subscribeWebhooks, webhookCount } from "../callbacks/helpers";
import { BASE } from "../helpers/api";
import { expectAuthMatrix } from "../helpers/auth-matrix";
import { getOutboxMessage, insertOutboxMessage, outboxEvents } from "../helpers/outbox";
import { newTenant } from "../helpers/tenant";

interface Carrier {
  id: string;
  provider: string;
  name: string | null;
  from: string[];
  messaging_service_sid: string | null;
  base_url: string | null;
  mps: number | null;
  priority: number;
  status_callback_url: string | null;
  inbound_url: string | null;
}
interface Problem {
  status: number;
  errors?: { path: string; message: string }[];
}

const TWILIO_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed";
const twilioBody = {
  provider: "twilio",
  name: "Twilio US",
  credentials: { account_sid: "AC0123456789abcdef0123456789abcdef", auth_token: TWILIO_TOKEN },
  from: ["+15555550199", "+15555550198"],
};
const telnyxBody = {
  provider: "telnyx",
  credentials: { api_key: "KEY0123456789ABCDEF", public_key: btoa("k".repeat(32)) },
  from: ["+15555550197"],
  priority: 1,
};

describe("POST /v1/carriers", () => {
  it("creates a twilio carrier with defaults and callback URLs, never returning credentials", async () => {
    const t = await newTenant();
    const res = await t.api.post<Carrier>("/v1/carriers", twilioBody);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      provider: "twilio",
      name: "Twilio US",
      from: ["+15555550199", "+15555550198"],
      messaging_service_sid: null,
      base_url: null,
      mps: 1,
      priority: 0,
      status_callback_url: `https://herald.test/callbacks/twilio/${res.body.id}/status`,
      inbound_url: `https://herald.test/callbacks/twilio/${res.body.id}/inbound`,
    });
    expect(res.body.id).toMatch(/^car_/);
    expect(res.text).not.toContain(TWILIO_TOKEN);
    expect(res.text).not.toContain("credentials");

    const again = await t.api.get<Carrier>(`/v1/carriers/${res.body.id}`);
    expect(again.text).not.toContain(TWILIO_TOKEN);
    const list = await t.api.get<{ data: Carrier[] }>("/v1/carriers");
    expect(list.text).not.toContain(TWILIO_TOKEN);

    // Sealed at rest (AES-GCM), and decryptable for the adapters.
    const row = await createDb(env.DB).select().from(carriers).where(eq(carriers.id, res.body.id)).get();
    expect(row?.credentialsSealed).toMatch(/^v1\./);
    expect(row?.credentialsSealed).not.toContain(TWILIO_TOKEN);
    const config = await loadCarrierConfig(serviceContext(env, t.id), row as NonNullable<typeof row>);
    expect(config.credentials).toEqual(twilioBody.credentials);
  });

  it("gives the sandbox no rate limit and no callback URLs; telnyx one URL for both", async () => {
    const t = await newTenant();
    const sandbox = await t.api.post<Carrier>("/v1/carriers", { provider: "sandbox" });
    expect(sandbox.status).toBe(201);
    expect(sandbox.body).toMatchObject({ mps: null, status_callback_url: null, inbound_url: null });
    const telnyx = await t.api.post<Carrier>("/v1/carriers", telnyxBody);
    expect(telnyx.status).toBe(201);
    expect(telnyx.body.status_callback_url).toBe(`https://herald.test/callbacks/telnyx/${telnyx.body.id}`);
    expect(telnyx.body.inbound_url).toBe(telnyx.body.status_callback_url);
    expect(
      statusCallbackUrlFor(
        { ...telnyx.body, provider: "telnyx", callbackOrigin: "https://herald.test" },
        "msg_1",
      ),
    ).toBe(`https://herald.test/callbacks/telnyx/${telnyx.body.id}?message_id=msg_1`);
  });

  it("validates credentials per provider, naming the field (422)", async () => {
    const t = await newTenant();
    const missing = await t.api.post<Problem>("/v1/carriers", {
      ...twilioBody,
      credentials: { account_sid: "AC0123456789abcdef0123456789abcdef" },
    });
    expect(missing.status).toBe(422);
    expect(missing.body.errors?.map((e) => e.path)).toEqual(["credentials.auth_token"]);
    const badSid = await t.api.post<Problem>("/v1/carriers", {
      ...twilioBody,
      credentials: { account_sid: "nope", auth_token: TWILIO_TOKEN },
    });
    expect(badSid.body.errors?.map((e) => e.path)).toEqual(["credentials.account_sid"]);
    const stray = await t.api.post<Problem>("/v1/carriers", {
      ...telnyxBody,
      credentials: { ...telnyxBody.credentials, auth_token: "x" },
    });
    expect(stray.status).toBe(422);
    expect(stray.body.errors?.map((e) => e.path)).toEqual(["credentials.auth_token"]);
    const badKey = await t.api.post<Problem>("/v1/carriers", {
      ...telnyxBody,
      credentials: { api_key: "KEY0123456789ABCDEF", public_key: "short" },
    });
    expect(badKey.body.errors?.map((e) => e.path)).toEqual(["credentials.public_key"]);
  });

  it("needs a sender, E.164 numbers, a known provider; unknown fields are 400", async () => {
    const t = await newTenant();
    const noFrom = await t.api.post<Problem>("/v1/carriers", { ...twilioBody, from: [] });
    expect(noFrom.status).toBe(422);
    expect(noFrom.body.errors?.[0]?.path).toBe("from");
    const withService = await t.api.post<Carrier>("/v1/carriers", {
      ...twilioBody,
      from: undefined,
      messaging_service_sid: "MG0123456789abcdef0123456789abcdef",
    });
    expect(withService.status).toBe(201);
    expect(withService.body.messaging_service_sid).toBe("MG0123456789abcdef0123456789abcdef");
    const badNumber = await t.api.post<Problem>("/v1/carriers", { ...twilioBody, from: ["555-0199"] });
    expect(badNumber.status).toBe(422);
    expect(badNumber.body.errors?.[0]?.path).toBe("from.0");
    const provider = await t.api.post<Problem>("/v1/carriers", { ...twilioBody, provider: "carrier-pigeon" });
    expect(provider.status).toBe(422);
    const unknown = await t.api.post<Problem>("/v1/carriers", { ...twilioBody, colour: "red" });
    expect(unknown.status).toBe(400);
    const mss = await t.api.post<Problem>("/v1/carriers", {
      ...telnyxBody,
      messaging_service_sid: "MG0123456789abcdef0123456789abcdef",
    });
    expect(mss.body.errors?.[0]?.path).toBe("messaging_service_sid");
  });

  it("checks base_url: loopback http allowed in development, refused for other hosts", async () => {
    const t = await newTenant();
    const loop = await t.api.post<Carrier>("/v1/carriers", {
      ...twilioBody,
      base_url: "http://127.0.0.1:8788/",
    });
    expect(loop.status).toBe(201);
    expect(loop.body.base_url).toBe("http://127.0.0.1:8788");
    const plain = await t.api.post<Problem>("/v1/carriers", {
      ...twilioBody,
      base_url: "http://example.com",
    });
    expect(plain.status).toBe(422);
    expect(plain.body.errors?.[0]?.path).toBe("base_url");
  });

  it("answers 415 for non-JSON bodies and 413 past 1 MB", async () => {
    const t = await newTenant();
    const form = await t.api.post("/v1/carriers", undefined, {
      rawBody: "provider=sandbox",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);
    const big = await t.api.post("/v1/carriers", { ...twilioBody, name: "x".repeat(1024 * 1024 + 10) });
    expect(big.status).toBe(413);
  });

  it("passes the auth matrix", async () => {
    await expectAuthMatrix({
      method: "POST",
      path: () => "/v1/carriers",
      scope: "carriers:write",
      body: { provider: "sandbox" },
    });
  });
});

describe("production", () => {
  const prodEnv = (overrides: Record<string, string> = {}) => ({
    ...env,
    ENVIRONMENT: "production",
    ...overrides,
  });
  const post = async (key: string, body: unknown, e: typeof env) => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}/v1/carriers`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
      e,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return { status: res.status, body: (await res.json()) as Problem & Carrier };
  };

  it("refuses non-https, loopback and private base_url (422)", async () => {
    const t = await newTenant();
    for (const base_url of [
      "http://127.0.0.1:8788",
      "http://api.twilio.com",
      "https://localhost",
      "https://10.1.2.3",
      "https://[::1]",
      "https://169.254.169.254",
    ]) {
      const res = await post(t.key, { ...twilioBody, base_url }, prodEnv());
      expect(res.status, base_url).toBe(422);
      expect(res.body.errors?.[0]?.path).toBe("base_url");
    }
    const ok = await post(t.key, { ...twilioBody, base_url: "https://twilio-proxy.example.com" }, prodEnv());
    expect(ok.status).toBe(201);
  });

  it("requires PUBLIC_BASE_URL to build callback URLs", async () => {
    const t = await newTenant();
    const res = await post(t.key, twilioBody, prodEnv({ PUBLIC_BASE_URL: "" }));
    expect(res.status).toBe(422);
    const ok = await post(t.key, twilioBody, prodEnv({ PUBLIC_BASE_URL: "https://sms.example.com/" }));
    expect(ok.status).toBe(201);
    expect(ok.body.status_callback_url).toBe(`https://sms.example.com/callbacks/twilio/${ok.body.id}/status`);
  });

  it("in development without PUBLIC_BASE_URL uses the creating request's origin", async () => {
    const t = await newTenant();
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request("http://localhost:8787/v1/carriers", {
        method: "POST",
        headers: { authorization: `Bearer ${t.key}`, "content-type": "application/json" },
        body: JSON.stringify(twilioBody),
      }),
      { ...env, PUBLIC_BASE_URL: "" },
      ctx,
    );
    const body = (await res.json()) as Carrier;
    expect(res.status).toBe(201);
    expect(body.inbound_url).toBe(`http://localhost:8787/callbacks/twilio/${body.id}/inbound`);
  });
});

describe("GET /v1/carriers", () => {
  it("lists newest first with a cursor, and orders active carriers by priority for dispatch", async () => {
    const t = await newTenant();
    const a = await t.api.post<Carrier>("/v1/carriers", { ...twilioBody, priority: 5 });
    const b = await t.api.post<Carrier>("/v1/carriers", telnyxBody);
    const c = await t.api.post<Carrier>("/v1/carriers", { provider: "sandbox", priority: 5 });
    const first = await t.api.get<{ data: Carrier[]; next_cursor: string | null }>("/v1/carriers?limit=2");
    expect(first.body.data.map((x) => x.id)).toEqual([c.body.id, b.body.id]);
    expect(first.body.next_cursor).not.toBeNull();
    const second = await t.api.get<{ data: Carrier[]; next_cursor: string | null }>(
      `/v1/carriers?limit=2&cursor=${first.body.next_cursor}`,
    );
    expect(second.body.data.map((x) => x.id)).toEqual([a.body.id]);
    expect(second.body.next_cursor).toBeNull();
    const ordered = await listActiveCarriers(serviceContext(env, t.id));
    expect(ordered.map((r) => r.id)).toEqual([b.body.id, a.body.id, c.body.id]);
    expect((await t.api.get("/v1/carriers?limit=0")).status).toBe(422);
  });

  it("passes the auth matrix", async () => {
    await expectAuthMatrix({ method: "GET", path: () => "/v1/carriers", scope: "carriers:read" });
  });
});

describe("GET/PATCH/DELETE /v1/carriers/{id}", () => {
  const makeCarrier = async ({ owner }: { owner: Awaited<ReturnType<typeof newTenant>> }) => {
    const res = await owner.api.post<Carrier>("/v1/carriers", twilioBody);
    return `/v1/carriers/${res.body.id}`;
  };

  it("updates only the given fields and re-seals new credentials", async () => {
    const t = await newTenant();
    const created = await t.api.post<Carrier>("/v1/carriers", twilioBody);
    const res = await t.api.patch<Carrier>(`/v1/carriers/${created.body.id}`, {
      mps: 10,
      priority: 2,
      credentials: { account_sid: "AC0123456789abcdef0123456789abcdef", auth_token: "b".repeat(32) },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ mps: 10, priority: 2, name: "Twilio US", from: twilioBody.from });
    expect(res.text).not.toContain("b".repeat(32));
    const row = await createDb(env.DB).select().from(carriers).where(eq(carriers.id, created.body.id)).get();
    const config = await loadCarrierConfig(serviceContext(env, t.id), row as NonNullable<typeof row>);
    expect(config.credentials.auth_token).toBe("b".repeat(32));

    const bad = await t.api.patch<Problem>(`/v1/carriers/${created.body.id}`, { from: [] });
    expect(bad.status).toBe(422);
    const provider = await t.api.patch(`/v1/carriers/${created.body.id}`, { provider: "telnyx" });
    expect(provider.status).toBe(400);
    expect((await t.api.patch("/v1/carriers/car_missing", { mps: 2 })).status).toBe(404);
    expect((await t.api.get("/v1/carriers/car_missing")).status).toBe(404);
  });

  it("soft-deletes: gone from the API, pinned pending messages fail, unpinned ones lose the carrier", async () => {
    const t = await newTenant();
    await subscribeWebhooks(t);
    const created = await t.api.post<Carrier>("/v1/carriers", twilioBody);
    const id = created.body.id;
    const pinned = await insertOutboxMessage(t.id, { carrierId: id, carrierPinned: true, status: "queued" });
    const pinnedScheduled = await insertOutboxMessage(t.id, {
      carrierId: id,
      carrierPinned: true,
      status: "scheduled",
    });
    const unpinned = await insertOutboxMessage(t.id, {
      carrierId: id,
      carrierPinned: false,
      status: "queued",
    });
    const sent = await insertOutboxMessage(t.id, { carrierId: id, carrierPinned: true, status: "sent" });

    expect((await t.api.del(`/v1/carriers/${id}`)).status).toBe(204);
    expect((await t.api.get(`/v1/carriers/${id}`)).status).toBe(404);
    expect((await t.api.del(`/v1/carriers/${id}`)).status).toBe(404);
    expect((await t.api.get<{ data: Carrier[] }>("/v1/carriers")).body.data).toHaveLength(0);

    for (const m of [pinned, pinnedScheduled]) {
      const row = await getOutboxMessage(m.id);
      expect(row.status).toBe("failed");
      expect(row.statusReason).toBe("carrier_deleted");
      expect((await outboxEvents(m.id)).map((e) => e.status)).toEqual(["failed"]);
    }
    const moved = await getOutboxMessage(unpinned.id);
    expect(moved.status).toBe("queued");
    expect(moved.carrierId).toBeNull();
    expect((await getOutboxMessage(sent.id)).status).toBe("sent");
    expect(await webhookCount(t.id, "message.failed")).toBe(2);
    // Still stored (callbacks of a deleted carrier must verify).
    const row = await createDb(env.DB).select().from(carriers).where(eq(carriers.id, id)).get();
    expect(row?.deletedAt).not.toBeNull();
  });

  it("passes the auth matrix", async () => {
    await expectAuthMatrix({ method: "GET", path: makeCarrier, scope: "carriers:read", ownsResource: true });
    await expectAuthMatrix({
      method: "PATCH",
      path: makeCarrier,
      scope: "carriers:write",
      body: { priority: 1 },
      ownsResource: true,
    });
    await expectAuthMatrix({
      method: "DELETE",
      path: makeCarrier,
      scope: "carriers:write",
      ownsResource: true,
    });
  });
});
