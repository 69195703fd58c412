import { z } from "@hono/zod-openapi";
import { listOf } from "../../lib/pagination";
import { TimestampSchema } from "../../lib/validators";
import { hookUrl, type IntegrationRow } from "../../services/integrations/integrations";

const ShopifyIntegrationInput = z
  .strictObject({
    type: z.literal("shopify").openapi({ description: "A Shopify store.", example: "shopify" }),
    shop_domain: z
      .string()
      .min(3)
      .max(255)
      .regex(/^[a-z0-9][a-z0-9.-]*\.[a-z]{2,}$/i, "must be a domain such as my-shop.myshopify.com")
      .openapi({ description: "The store's domain.", example: "my-shop.myshopify.com" }),
    webhook_secret: z.string().min(8).max(512).openapi({
      description: "The secret Shopify signs webhooks with (write-only, encrypted at rest).",
      example: "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",
    }),
  })
  .openapi("CreateShopifyIntegration");

const StandardIntegrationInput = z
  .strictObject({
    type: z.literal("standard").openapi({
      description: "Any sender of Standard Webhooks; Herald generates the `whsec_` secret.",
      example: "standard",
    }),
  })
  .openapi("CreateStandardIntegration");

export const CreateIntegrationSchema = z
  .discriminatedUnion("type", [ShopifyIntegrationInput, StandardIntegrationInput])
  .openapi("CreateIntegration");

export const IntegrationSchema = z
  .object({
    id: z.string().openapi({ description: "Integration id.", example: "int_0mhx2k1a0AbCdEfGhIjKlMn" }),
    type: z.enum(["shopify", "standard"]).openapi({ description: "Kind of sender.", example: "shopify" }),
    shop_domain: z.string().nullable().openapi({
      description: "Shopify store domain (null for standard).",
      example: "my-shop.myshopify.com",
    }),
    webhook_url: z.string().openapi({
      description: "Where the storefront posts its webhooks.",
      example: "https://herald.example.com/hooks/int_0mhx2k1a0AbCdEfGhIjKlMn",
    }),
    created_at: TimestampSchema,
  })
  .openapi("Integration");

export const CreatedIntegrationSchema = IntegrationSchema.extend({
  secret: z.string().optional().openapi({
    description: "A standard integration's signing secret, shown once.",
    example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  }),
}).openapi("CreatedIntegration");

export const IntegrationListSchema = listOf(IntegrationSchema, "IntegrationList");

export const integrationView = (row: IntegrationRow, origin: string): z.infer<typeof IntegrationSchema> => ({
  id: row.id,
  type: row.type,
  shop_domain: row.shopDomain,
  webhook_url: hookUrl(origin, row.id),
  created_at: row.createdAt,
});
