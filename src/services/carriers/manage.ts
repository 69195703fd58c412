import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Provider } from "../../carriers/types";
import { newestFirstPage } from "../../db/keyset";
import { carriers, messages } from "../../db/schema";
import { checkOutboundUrl } from "../../domain/url-guard";
import { isProduction } from "../../env";
import { encryptSecret, fromBase64 } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { HttpProblem, invalidField, notFound } from "../../lib/problem";
import { nowIso } from "../../lib/time";
import type { ServiceContext } from "../context";
import { transitionStatements } from "../messages/status";
import { messageWebhookStatement, ringWebhooks, writtenDeliveries } from "../webhooks/in-batch";
import { type CarrierRow, findCarrier } from "./config";
import { callbackOrigin } from "./urls";

export interface CarrierInput {
  provider: Provider;
  name?: string | null;
  credentials?: Record<string, string>;
  from?: string[];
  messaging_service_sid?: string | null;
  base_url?: string | null;
  mps?: number | null;
  priority?: number;
}

export type CarrierPatch = Omit<Partial<CarrierInput>, "provider">;

interface CredentialField {
  required: boolean;
  check?: (v: string) => string | null;
}

const isBase64Of = (bytes: number) => (v: string) => {
  try {
    return fromBase64(v).length === bytes ? null : `must be base64 of ${bytes} bytes`;
  } catch {
    return "must be base64";
  }
};

/** The credentials each provider needs; anything else is refused so typos do not pass silently. */
const CREDENTIALS: Record<Provider, Record<string, CredentialField>> = {
  twilio: {
    account_sid: {
      required: true,
      check: (v) => (/^AC[0-9a-fA-F]{32}$/.test(v) ? null : "must be a Twilio Account SID (AC + 32 hex)"),
    },
    auth_token: { required: true, check: (v) => (v.length >= 16 ? null : "is too short for an auth token") },
  },
  telnyx: {
    api_key: { required: true, check: (v) => (v.length >= 10 ? null : "is too short for an API key") },
    public_key: { required: true, check: isBase64Of(32) },
  },
  vonage: {
    api_key: { required: true },
    api_secret: { required: true },
    // Without it no Vonage callback can be verified, so a STOP could never be honoured (PRODUCT.md).
    signature_secret: { required: true },
  },
  sinch: {
    service_plan_id: {
      required: true,
      check: (v) => (/^[0-9A-Za-z_-]{1,64}$/.test(v) ? null : "must be a Sinch service plan id"),
    },
    api_token: { required: true, check: (v) => (v.length >= 8 ? null : "is too short for an API token") },
    // Optional: without it, callbacks are verified by the secret token in the callback URL.
    callback_secret: { required: false },
  },
  sandbox: {},
};

function validateCredentials(
  provider: Provider,
  creds: Record<string, string> | undefined,
): Record<string, string> {
  const spec = CREDENTIALS[provider];
  const given = creds ?? {};
  const errors: { path: string; message: string }[] = [];
  for (const key of Object.keys(given)) {
    if (!spec[key])
      errors.push({ path: `credentials.${key}`, message: `is not a credential of ${provider}` });
  }
  for (const [key, field] of Object.entries(spec)) {
    const v = given[key];
    if (v === undefined || v === "") {
      if (field.required) errors.push({ path: `credentials.${key}`, message: `is required for ${provider}` });
      continue;
    }
    const problem = field.check?.(v);
    if (problem) errors.push({ path: `credentials.${key}`, message: problem });
  }
  if (errors.length > 0) {
    throw new HttpProblem(
      "validation_failed",
      errors.map((e) => `${e.path}: ${e.message}`).join("; "),
      errors,
    );
  }
  return given;
}

/** Cross-field rules of a carrier's final shape (after defaults or a patch). */
function validateShape(
  ctx: ServiceContext,
  c: {
    provider: Provider;
    from: string[];
    messagingServiceSid: string | null;
    baseUrl: string | null;
    mps: number | null;
  },
) {
  if (c.baseUrl !== null) {
    const reason = checkOutboundUrl(c.baseUrl, { production: isProduction(ctx.env) });
    if (reason) throw invalidField("base_url", reason);
  }
  if (c.messagingServiceSid !== null && c.provider !== "twilio") {
    throw invalidField("messaging_service_sid", "only applies to twilio carriers");
  }
  if (c.provider !== "sandbox" && c.from.length === 0 && c.messagingServiceSid === null) {
    throw invalidField(
      "from",
      c.provider === "twilio"
        ? "needs at least one number, or set messaging_service_sid"
        : "needs at least one number",
    );
  }
  if (c.provider !== "sandbox" && c.mps === null) {
    throw invalidField("mps", "is required for a real carrier (segments per second it allows)");
  }
}

const normalizeBaseUrl = (u: string | null | undefined): string | null =>
  u ? u.trim().replace(/\/+$/, "") : null;

async function seal(ctx: ServiceContext, creds: Record<string, string>): Promise<string | null> {
  return Object.keys(creds).length > 0 ? encryptSecret(ctx.env.ENCRYPTION_KEY, JSON.stringify(creds)) : null;
}

export async function createCarrier({
  ctx,
  input,
  requestUrl,
}: {
  ctx: ServiceContext;
  input: CarrierInput;
  requestUrl: string;
}): Promise<CarrierRow> {
  const creds = validateCredentials(input.provider, input.credentials);
  const shape = {
    provider: input.provider,
    from: [...new Set(input.from ?? [])],
    messagingServiceSid: input.messaging_service_sid ?? null,
    baseUrl: normalizeBaseUrl(input.base_url),
    mps: input.mps === undefined ? (input.provider === "sandbox" ? null : 1) : input.mps,
  };
  validateShape(ctx, shape);
  const now = nowIso();
  const row: CarrierRow = {
    id: newId("carrier"),
    tenantId: ctx.tenantId,
    provider: input.provider,
    name: input.name ?? null,
    credentialsSealed: await seal(ctx, creds),
    fromNumbers: shape.from,
    messagingServiceSid: shape.messagingServiceSid,
    baseUrl: shape.baseUrl,
    mps: shape.mps,
    priority: input.priority ?? 0,
    callbackOrigin: callbackOrigin(ctx.env, requestUrl),
    deletedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  await ctx.db.insert(carriers).values(row).run();
  return row;
}

export async function getCarrier({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  const row = await findCarrier(ctx, input.id);
  if (!row) throw notFound("Carrier");
  return row;
}

export async function listCarriers({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { limit: number; cursor?: string };
}): Promise<CarrierRow[]> {
  return newestFirstPage(ctx.db, carriers, ctx.tenantId, input, isNull(carriers.deletedAt));
}

export async function updateCarrier({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; patch: CarrierPatch };
}): Promise<CarrierRow> {
  const row = await getCarrier({ ctx, input: { id: input.id } });
  const p = input.patch;
  const shape = {
    provider: row.provider,
    from: p.from !== undefined ? [...new Set(p.from)] : row.fromNumbers,
    messagingServiceSid:
      p.messaging_service_sid !== undefined ? p.messaging_service_sid : row.messagingServiceSid,
    baseUrl: p.base_url !== undefined ? normalizeBaseUrl(p.base_url) : row.baseUrl,
    mps: p.mps !== undefined ? p.mps : row.mps,
  };
  validateShape(ctx, shape);
  const sealed =
    p.credentials !== undefined
      ? await seal(ctx, validateCredentials(row.provider, p.credentials))
      : row.credentialsSealed;
  const updated: CarrierRow = {
    ...row,
    name: p.name !== undefined ? p.name : row.name,
    credentialsSealed: sealed,
    fromNumbers: shape.from,
    messagingServiceSid: shape.messagingServiceSid,
    baseUrl: shape.baseUrl,
    mps: shape.mps,
    priority: p.priority ?? row.priority,
    updatedAt: nowIso(),
  };
  await ctx.db
    .update(carriers)
    .set({
      name: updated.name,
      credentialsSealed: updated.credentialsSealed,
      fromNumbers: updated.fromNumbers,
      messagingServiceSid: updated.messagingServiceSid,
      baseUrl: updated.baseUrl,
      mps: updated.mps,
      priority: updated.priority,
      updatedAt: updated.updatedAt,
    })
    .where(and(eq(carriers.id, row.id), eq(carriers.tenantId, ctx.tenantId)))
    .run();
  return updated;
}

/** Messages failed per db.batch() when a pinned carrier goes away (two statements each; ids stay under 100 bound parameters). */
const DELETE_CHUNK = 40;

/**
 * Soft delete: the carrier stops sending, its callbacks still verify. Pending messages pinned to
 * it fail with `carrier_deleted`; unpinned ones lose it and go to the next carrier at dispatch.
 */
export async function deleteCarrier({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  const row = await getCarrier({ ctx, input });
  const now = nowIso();
  await ctx.db
    .update(carriers)
    .set({ deletedAt: now, updatedAt: now })
    .where(and(eq(carriers.id, row.id), eq(carriers.tenantId, ctx.tenantId)))
    .run();
  const pendingWhere = and(
    eq(messages.tenantId, ctx.tenantId),
    eq(messages.carrierId, row.id),
    inArray(messages.status, ["scheduled", "queued"]),
  );
  const pinned = await ctx.db
    .select({ id: messages.id })
    .from(messages)
    .where(and(pendingWhere, eq(messages.carrierPinned, true)))
    .all();
  for (let i = 0; i < pinned.length; i += DELETE_CHUNK) {
    const stmts = pinned.slice(i, i + DELETE_CHUNK).flatMap((m) =>
      transitionStatements(ctx.env.DB, {
        tenantId: ctx.tenantId,
        messageId: m.id,
        to: "failed",
        from: ["scheduled", "queued"],
        set: { status_reason: "carrier_deleted" },
        detail: "carrier_deleted",
        at: now,
      }),
    );
    // Their `message.failed` webhooks are written with the failures, then rung.
    const hooks = pinned.slice(i, i + DELETE_CHUNK).map((m) => m.id);
    stmts.push(messageWebhookStatement(ctx.env.DB, "message.failed", hooks, now));
    const results = await ctx.env.DB.batch(stmts);
    await ringWebhooks(ctx.env, writtenDeliveries(results, [stmts.length - 1]));
  }
  await ctx.db
    .update(messages)
    .set({ carrierId: null, updatedAt: now })
    .where(and(pendingWhere, eq(messages.carrierPinned, false)))
    .run();
}
