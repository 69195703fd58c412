import { z } from "@hono/zod-openapi";
import { listOf } from "../../lib/pagination";
import { TimestampSchema } from "../../lib/validators";
import { SCOPES } from "../../services/api-keys/keys";
import type { ApiKeyRow } from "../../services/api-keys/manage";

export const ScopeSchema = z.enum(SCOPES).openapi({
  description: "`<resource>:read`, `<resource>:write` (implies read) or `*`.",
  example: "contacts:write",
});

export const CreateApiKeySchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(100)
      .openapi({ description: "What the key is for.", example: "Billing service" }),
    scopes: z
      .array(ScopeSchema)
      .min(1)
      .max(SCOPES.length)
      .optional()
      .openapi({
        description: 'Defaults to `["*"]`. A key may only grant scopes it has.',
        example: ["contacts:write", "events:write"],
      }),
  })
  .openapi("CreateApiKey");

export const ApiKeySchema = z
  .object({
    id: z.string().openapi({ description: "Key id.", example: "key_0mhx2k1a0AbCdEfGhIjKlMn" }),
    name: z.string().openapi({ description: "What the key is for.", example: "Billing service" }),
    prefix: z.string().openapi({
      description: "First characters of the key, to tell keys apart.",
      example: "hk_live_4fQx0c",
    }),
    scopes: z.array(z.string()).openapi({ description: "Granted scopes.", example: ["contacts:write"] }),
    last_used_at: TimestampSchema.nullable().openapi({
      description: "Last authenticated request (minute resolution).",
      example: "2026-11-22T21:30:00.000Z",
    }),
    revoked_at: TimestampSchema.nullable().openapi({
      description: "When it was revoked; revoked keys answer 401.",
      example: null,
    }),
    created_at: TimestampSchema,
  })
  .openapi("ApiKey");

export const CreatedApiKeySchema = ApiKeySchema.extend({
  key: z.string().openapi({
    description: "The secret key. Shown once; only its SHA-256 is stored.",
    example: "hk_live_4fQx0c1UeXk2e8YbTtq0sZk5T9mWnV3aL7dRpQ2hJ6u",
  }),
}).openapi("CreatedApiKey");

export const ApiKeyListSchema = listOf(ApiKeySchema, "ApiKeyList");

export const apiKeyView = (k: ApiKeyRow): z.infer<typeof ApiKeySchema> => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  last_used_at: k.lastUsedAt,
  revoked_at: k.revokedAt,
  created_at: k.createdAt,
});
