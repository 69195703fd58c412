import { env } from "cloudflare:workers";
import { signShopify, signStandard } from "../../src/domain/signatures";
import { type ApiResponse, call } from "../helpers/api";
import type { TestTenant } from "../helpers/tenant";

export interface Integration {
  id: string;
  type: "shopify" | "standard";
  webhook_url: string;
  secret?: string;
}

export const SHOPIFY_SECRET = "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";

export async function shopifyIntegration(t: TestTenant): Promise<Integration> {
  const res = await t.api.post<Integration>("/v1/integrations", {
    type: "shopify",
    shop_domain: "my-shop.myshopify.com",
    webhook_secret: SHOPIFY_SECRET,
  });
  if (res.status !== 201) throw new Error(res.text);
  return res.body;
}

export async function standardIntegration(t: TestTenant): Promise<Integration & { secret: string }> {
  const res = await t.api.post<Integration & { secret: string }>("/v1/integrations", { type: "standard" });
  if (res.status !== 201) throw new Error(res.text);
  return res.body;
}

let seq = 0;

/** Posts a Shopify webhook the way Shopify does (headers and HMAC of the raw body). */
export async function postShopify(
  integrationId: string,
  topic: string,
  payload: unknown,
  opts: { secret?: string; eventId?: string; hmac?: string | null; tamper?: (body: string) => string } = {},
): Promise<ApiResponse<{ received: boolean; duplicate: boolean }>> {
  seq += 1;
  const body = JSON.stringify(payload);
  const hmac = opts.hmac === undefined ? await signShopify(opts.secret ?? SHOPIFY_SECRET, body) : opts.hmac;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-shopify-topic": topic,
    "x-shopify-shop-domain": "my-shop.myshopify.com",
    "x-shopify-api-version": "2026-10",
    "x-shopify-webhook-id": `b54557e4-bdd9-4b37-8a5f-${String(seq).padStart(12, "0")}`,
    "x-shopify-event-id": opts.eventId ?? `98880550-7158-44d4-b7cd-${String(seq).padStart(12, "0")}`,
    "x-shopify-triggered-at": new Date().toISOString(),
  };
  if (hmac !== null) headers["x-shopify-hmac-sha256"] = hmac;
  return call("POST", `/hooks/${integrationId}`, {
    rawBody: opts.tamper ? opts.tamper(body) : body,
    headers,
  });
}

/** Posts a Standard Webhooks delivery. */
export async function postStandard(
  integrationId: string,
  secret: string,
  payload: unknown,
  opts: {
    id?: string;
    timestampSeconds?: number;
    omit?: string[];
    signature?: string;
    rawBody?: string;
  } = {},
): Promise<ApiResponse<{ received: boolean; duplicate: boolean }>> {
  seq += 1;
  const body = opts.rawBody ?? JSON.stringify(payload);
  const id = opts.id ?? `msg_test${seq}`;
  const ts = opts.timestampSeconds ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(ts),
    "webhook-signature": opts.signature ?? (await signStandard(secret, id, ts, body)),
  };
  for (const h of opts.omit ?? []) delete headers[h];
  return call("POST", `/hooks/${integrationId}`, { rawBody: body, headers });
}

/** Polls until `check` returns a value (background work: waitUntil and the real queue consumer). */
export async function waitFor<T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 5000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error("waitFor timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function hookDeliveries(integrationId: string) {
  const rows = await env.DB.prepare(
    "SELECT id, dedupe_key, topic, status, detail FROM hook_deliveries WHERE integration_id = ? ORDER BY received_at",
  )
    .bind(integrationId)
    .all<{ id: string; dedupe_key: string; topic: string | null; status: string; detail: string | null }>();
  return rows.results;
}

/** Waits until every delivery of the integration has been processed; returns them. */
export const settledDeliveries = (integrationId: string, count: number) =>
  waitFor(async () => {
    const rows = await hookDeliveries(integrationId);
    return rows.length === count && rows.every((r) => !["received", "processing"].includes(r.status)) && rows;
  });
