import { z } from "@hono/zod-openapi";
import { ATTRIBUTE_KEY } from "../../domain/segment-filter";
import { listOf } from "../../lib/pagination";
import { CountrySchema, TimestampSchema, TimezoneSchema } from "../../lib/validators";

const isRealDate = (y: number, m: number, d: number): boolean => {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
};

/** "YYYY-MM-DD" (a real past date) or "--MM-DD" (29 February allowed). */
export function isBirthday(s: string): boolean {
  const full = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (full) {
    const [y, m, d] = [Number(full[1]), Number(full[2]), Number(full[3])];
    return y >= 1900 && isRealDate(y, m, d) && s <= new Date().toISOString().slice(0, 10);
  }
  const md = /^--(\d{2})-(\d{2})$/.exec(s);
  return md !== null && isRealDate(2000, Number(md[1]), Number(md[2]));
}

const AttributeValueSchema = z
  .union([z.string().max(1000), z.number().refine(Number.isFinite, "must be a finite number"), z.boolean()])
  .openapi({ description: "A string, number or boolean.", example: "Austin" });

const attributesDoc = {
  description:
    "Flat object of string/number/boolean values (keys: 1–64 letters, digits, underscores; at most 100). " +
    "Well-known keys: `gender, income, city, region, country, postal_code`. In writes, keys are merged and `null` removes one.",
  example: { city: "Austin", region: "TX", income: 72000, vip: true },
};

const AttributesInputSchema = z
  .record(
    z.string().regex(ATTRIBUTE_KEY, "attribute keys are 1–64 letters, digits or underscores"),
    AttributeValueSchema.nullable(),
  )
  .superRefine((attrs, ctx) => {
    if (Object.keys(attrs).length > 100) ctx.addIssue({ code: "custom", message: "has more than 100 keys" });
    const income = attrs.income;
    if (income !== undefined && income !== null && typeof income !== "number") {
      ctx.addIssue({ code: "custom", path: ["income"], message: "must be a number" });
    }
  })
  .openapi(attributesDoc);

const ConsentInputSchema = z
  .strictObject({
    source: z
      .string()
      .min(1)
      .max(100)
      .openapi({ description: "Where consent was collected.", example: "checkout_form" }),
    text: z.string().max(2000).optional().openapi({
      description: "The consent language the person agreed to, verbatim.",
      example: "I agree to receive order updates and offers by SMS from Acme. Reply STOP to opt out.",
    }),
    at: z.iso.datetime({ offset: true }).optional().openapi({
      description: "When consent was given (default: now).",
      example: "2026-11-22T21:30:00.000Z",
    }),
  })
  .openapi("ConsentInput", {
    description: "A new consent record. It lifts an earlier opt-out; `subscribed: true` alone does not.",
  });

const editable = {
  first_name: z
    .string()
    .max(100)
    .nullable()
    .optional()
    .openapi({ description: "Given name.", example: "Ada" }),
  last_name: z
    .string()
    .max(100)
    .nullable()
    .optional()
    .openapi({ description: "Family name.", example: "Lovelace" }),
  email: z
    .email()
    .max(254)
    .nullable()
    .optional()
    .openapi({ description: "Email address.", example: "ada@example.com" }),
  external_id: z.string().min(1).max(255).nullable().optional().openapi({
    description: "Your own id for this person; unique per tenant.",
    example: "cus_1042",
  }),
  timezone: TimezoneSchema.nullable().optional().openapi({
    description: "IANA time zone; inferred from the number when absent and certain.",
    example: "America/Chicago",
  }),
  locale: z
    .string()
    .max(35)
    .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "must be a BCP 47 language tag such as en-US")
    .nullable()
    .optional()
    .openapi({ description: "BCP 47 language tag.", example: "en-US" }),
  birthday: z
    .string()
    .refine(isBirthday, 'must be "YYYY-MM-DD" (a real past date) or "--MM-DD"')
    .nullable()
    .optional()
    .openapi({ description: '"YYYY-MM-DD", or "--MM-DD" when the year is unknown.', example: "1990-04-17" }),
  attributes: AttributesInputSchema.optional(),
  subscribed: z.boolean().optional().openapi({
    description:
      "Global SMS consent switch (default true). `false` opts the phone out; `true` alone does not lift an opt-out.",
    example: true,
  }),
  marketing_opt_in: z.boolean().optional().openapi({
    description: "Consent to marketing messages (default true for contacts created through /v1).",
    example: true,
  }),
  consent: ConsentInputSchema.optional(),
};

export const ContactInputSchema = z
  .strictObject({
    phone: z.string().min(1).max(40).openapi({
      description: "E.164, or a national number read with `country` (else the tenant's default country).",
      example: "+15125550142",
    }),
    country: CountrySchema.optional().openapi({
      description: "ISO country used only to read a national `phone`; not stored.",
      example: "US",
    }),
    ...editable,
  })
  .openapi("ContactInput");

export const ContactPatchSchema = z.strictObject(editable).openapi("ContactPatch", {
  description:
    "Fields to change; absent fields are left as they were. The phone is the contact's key and cannot change.",
});

export const ContactSchema = z
  .object({
    id: z.string().openapi({ description: "Contact id.", example: "ct_0mhx2k1a0AbCdEfGhIjKlMn" }),
    phone: z.string().openapi({ description: "E.164 phone number.", example: "+15125550142" }),
    first_name: z.string().nullable().openapi({ description: "Given name.", example: "Ada" }),
    last_name: z.string().nullable().openapi({ description: "Family name.", example: "Lovelace" }),
    email: z.string().nullable().openapi({ description: "Email address.", example: "ada@example.com" }),
    external_id: z
      .string()
      .nullable()
      .openapi({ description: "Your own id for this person.", example: "cus_1042" }),
    timezone: z.string().nullable().openapi({
      description: "IANA zone (given, or inferred from the number when certain).",
      example: "America/Chicago",
    }),
    locale: z.string().nullable().openapi({ description: "BCP 47 language tag.", example: "en-US" }),
    birthday: z
      .string()
      .nullable()
      .openapi({ description: '"YYYY-MM-DD" or "--MM-DD".', example: "1990-04-17" }),
    age: z.number().int().nullable().openapi({
      description: "Whole years on the contact's local date; null without a full birthday.",
      example: 36,
    }),
    attributes: z.record(z.string(), AttributeValueSchema).openapi(attributesDoc),
    subscribed: z.boolean().openapi({ description: "False once the phone opted out.", example: true }),
    marketing_opt_in: z.boolean().openapi({ description: "Consent to marketing messages.", example: true }),
    unsubscribed_at: z
      .string()
      .nullable()
      .openapi({ description: "When the phone opted out.", example: null }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .openapi("Contact");

export const ContactListSchema = listOf(ContactSchema, "ContactList");

export const ContactListQuerySchema = z.object({
  phone: z
    .string()
    .max(40)
    .optional()
    .openapi({
      description: "Only the contact with this phone (normalised like a write).",
      example: "+15125550142",
      param: { name: "phone", in: "query" },
    }),
  external_id: z
    .string()
    .max(255)
    .optional()
    .openapi({
      description: "Only the contact with this external id.",
      example: "cus_1042",
      param: { name: "external_id", in: "query" },
    }),
  segment_id: z
    .string()
    .max(64)
    .optional()
    .openapi({
      description: "Only contacts in this segment.",
      example: "seg_0mhx2k1a0AbCdEfGhIjKlMn",
      param: { name: "segment_id", in: "query" },
    }),
});

export const BatchInputSchema = z
  .strictObject({
    contacts: z
      .array(z.unknown().openapi({ type: "object", description: "A ContactInput." }))
      .min(1)
      .max(1000)
      .openapi({
        description: "1–1000 ContactInput objects; each row is validated and stored on its own.",
        example: [{ phone: "+15125550142", first_name: "Ada" }, { phone: "(512) 555-0199" }],
      }),
  })
  .openapi("ContactBatchInput");

export const BatchResultSchema = z
  .object({
    created: z.number().int().openapi({ description: "Rows that created a contact.", example: 998 }),
    updated: z.number().int().openapi({ description: "Rows that updated an existing contact.", example: 1 }),
    failed: z
      .array(
        z.object({
          index: z.number().int().openapi({ description: "Position of the row in `contacts`.", example: 7 }),
          errors: z
            .array(
              z.object({
                path: z.string().openapi({ description: "Field of the row at fault.", example: "phone" }),
                message: z
                  .string()
                  .openapi({ description: "What is wrong.", example: "is not a valid phone number" }),
              }),
            )
            .openapi({
              description: "Why the row was not stored.",
              example: [{ path: "phone", message: "is not a valid phone number" }],
            }),
        }),
      )
      .openapi({
        description: "Rows not stored, by index; the others were stored.",
        example: [{ index: 7, errors: [{ path: "phone", message: "is not a valid phone number" }] }],
      }),
  })
  .openapi("ContactBatchResult");

export type ContactBody = z.infer<typeof ContactInputSchema>;
export type ContactPatchBody = z.infer<typeof ContactPatchSchema>;
