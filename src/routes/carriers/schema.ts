import { z } from "@hono/zod-openapi";
import { PROVIDERS } from "../../carriers/types";
import { listOf } from "../../lib/pagination";
import { TimestampSchema } from "../../lib/validators";
import type { CarrierRow } from "../../services/carriers/config";
import { callbackUrls } from "../../services/carriers/urls";

const ProviderSchema = z.enum(PROVIDERS).openapi({
  description: "Which carrier API this is. `sandbox` records messages and marks them delivered.",
  example: "twilio",
});

const CredentialsSchema = z.record(z.string(), z.string().max(1000)).openapi({
  description:
    "Write-only; stored encrypted (AES-GCM) and never returned. twilio: `{account_sid, auth_token}`; " +
    "telnyx: `{api_key, public_key}` (the base64 Ed25519 webhook key); vonage: `{api_key, api_secret, " +
    "signature_secret}` (required: it verifies the signed callbacks, STOP included); sinch: `{service_plan_id, " +
    "api_token, callback_secret?}` (`callback_secret`: the HMAC secret Sinch signs callbacks with, once Sinch " +
    "enabled signing for the account; without it the callback URL's secret `token` verifies them; default " +
    "`base_url` https://us.sms.api.sinch.com); sandbox: none.",
  example: {
    account_sid: "AC0123456789abcdef0123456789abcdef",
    auth_token: "0123456789abcdef0123456789abcdef",
  },
});

const E164Schema = z
  .string()
  .regex(/^\+[1-9]\d{6,14}$/, "must be an E.164 number such as +15551234567")
  .openapi({ description: "An E.164 number.", example: "+15551234567" });

const FromSchema = z
  .array(E164Schema)
  .max(500)
  .openapi({
    description: "The sender pool. Each contact keeps getting the same number (sticky sender).",
    example: ["+15551234567", "+15557654321"],
  });

const MessagingServiceSidSchema = z
  .string()
  .regex(/^MG[0-9a-fA-F]{32}$/, "must be a Twilio Messaging Service SID (MG + 32 hex)")
  .openapi({
    description: "Twilio only: send through a Messaging Service, which picks the sender.",
    example: "MG0123456789abcdef0123456789abcdef",
  });

const BaseUrlSchema = z
  .string()
  .max(500)
  .openapi({
    description:
      "Overrides the provider's API origin (regional edges, proxies, test doubles). Production allows only " +
      "https:// to public hosts; development also allows http:// to loopback.",
    example: "https://api.twilio.com",
  });

const MpsSchema = z.number().int().min(1).max(10_000).openapi({
  description:
    "Segments per second this sender pool may send. Default 1; the sandbox is unlimited (null) unless set.",
  example: 1,
});

const PrioritySchema = z.number().int().min(-1000).max(1000).openapi({
  description: "Carriers are tried by ascending priority (lowest first), failing over on retryable errors.",
  example: 0,
});

const NameSchema = z.string().min(1).max(100).openapi({ description: "A label.", example: "Twilio US" });

export const CreateCarrierSchema = z
  .strictObject({
    provider: ProviderSchema,
    name: NameSchema.optional(),
    credentials: CredentialsSchema.optional(),
    from: FromSchema.optional(),
    messaging_service_sid: MessagingServiceSidSchema.optional(),
    base_url: BaseUrlSchema.optional(),
    mps: MpsSchema.optional(),
    priority: PrioritySchema.optional(),
  })
  .openapi("CreateCarrier");

export const UpdateCarrierSchema = z
  .strictObject({
    name: NameSchema.nullable().optional(),
    credentials: CredentialsSchema.optional(),
    from: FromSchema.optional(),
    messaging_service_sid: MessagingServiceSidSchema.nullable().optional(),
    base_url: BaseUrlSchema.nullable().optional(),
    mps: MpsSchema.nullable().optional(),
    priority: PrioritySchema.optional(),
  })
  .openapi("UpdateCarrier");

export const CarrierSchema = z
  .object({
    id: z.string().openapi({ description: "Carrier id.", example: "car_0mhx2k1a0AbCdEfGhIjKlMn" }),
    provider: ProviderSchema,
    name: z.string().nullable().openapi({ description: "A label.", example: "Twilio US" }),
    from: z.array(z.string()).openapi({ description: "The sender pool.", example: ["+15551234567"] }),
    messaging_service_sid: z.string().nullable().openapi({
      description: "Twilio Messaging Service, when set.",
      example: null,
    }),
    base_url: z.string().nullable().openapi({
      description: "API origin override; null = the provider's own.",
      example: null,
    }),
    mps: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Segments per second; null = unlimited.", example: 1 }),
    priority: z.number().int().openapi({ description: "Lowest is tried first.", example: 0 }),
    status_callback_url: z
      .string()
      .nullable()
      .openapi({
        description:
          "Where the carrier reports delivery status (set per message too). Null for the sandbox. Sinch: one URL " +
          "for delivery reports and inbound texts, carrying the carrier's secret `token` (keep it private).",
        example: "https://herald.example.com/callbacks/twilio/car_0mhx2k1a0AbCdEfGhIjKlMn/status",
      }),
    inbound_url: z.string().nullable().openapi({
      description:
        "Paste in the carrier's console as the number's incoming-message webhook. Null for the sandbox.",
      example: "https://herald.example.com/callbacks/twilio/car_0mhx2k1a0AbCdEfGhIjKlMn/inbound",
    }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Carrier");

export const CarrierListSchema = listOf(CarrierSchema, "CarrierList");

/** The API view of a carrier; `callbackToken` (Sinch) completes its callback URLs. */
export const carrierView = (c: CarrierRow, callbackToken?: string): z.infer<typeof CarrierSchema> => ({
  id: c.id,
  provider: c.provider,
  name: c.name,
  from: c.fromNumbers,
  messaging_service_sid: c.messagingServiceSid,
  base_url: c.baseUrl,
  mps: c.mps,
  priority: c.priority,
  ...callbackUrls({ ...c, callbackToken: callbackToken ?? null }),
  created_at: c.createdAt,
  updated_at: c.updatedAt,
});
