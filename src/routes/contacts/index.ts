import { createRoute } from "@hono/zod-openapi";
import { parseRows } from "../../lib/batch";
import { apiKeySecurity, createRouter, IdParam, json } from "../../lib/openapi";
import { ListQuerySchema, page } from "../../lib/pagination";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { idempotency } from "../../middleware/idempotency";
import { deleteContact, getContact, listContacts, patchContact } from "../../services/contacts/manage";
import { type ContactInput, upsertContact, upsertContacts } from "../../services/contacts/upsert";
import { contactView } from "../../services/contacts/view";
import {
  BatchInputSchema,
  BatchResultSchema,
  ContactInputSchema,
  ContactListQuerySchema,
  ContactListSchema,
  ContactPatchSchema,
  ContactSchema,
} from "./schema";

const tags = ["Contacts"];
const idParam = IdParam("ct_0mhx2k1a0AbCdEfGhIjKlMn");

const upsertContactRoute = createRoute({
  method: "post",
  path: "/v1/contacts",
  operationId: "upsertContact",
  tags,
  summary: "Create or update a contact by phone",
  description:
    "Upserts by phone: 201 when the phone is new, 200 when it updates an existing contact (absent fields unchanged, " +
    "`attributes` merged key by key, `null` removes a key). `subscribed: true` alone does not lift an opt-out; a new " +
    "`consent` record does. An invalid number is a 422 naming `phone`; an `external_id` of another contact is a 409.",
  security: apiKeySecurity,
  middleware: [requireScope("contacts:write"), idempotency] as const,
  request: { body: { required: true, content: json(ContactInputSchema) } },
  responses: {
    200: { description: "Updated", content: json(ContactSchema) },
    201: { description: "Created", content: json(ContactSchema) },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

const batchRoute = createRoute({
  method: "post",
  path: "/v1/contacts/batch",
  operationId: "upsertContactsBatch",
  tags,
  summary: "Upsert up to 1,000 contacts",
  description:
    "Each row follows the rules of `POST /v1/contacts`. A bad row (invalid, unknown field, conflicting `external_id`) " +
    "is reported in `failed` by index and the others are stored.",
  security: apiKeySecurity,
  middleware: [requireScope("contacts:write"), idempotency] as const,
  request: { body: { required: true, content: json(BatchInputSchema) } },
  responses: {
    200: { description: "What was stored and what was not", content: json(BatchResultSchema) },
    ...errorResponses(400, 401, 403, 413, 415, 422),
  },
});

const listContactsRoute = createRoute({
  method: "get",
  path: "/v1/contacts",
  operationId: "listContacts",
  tags,
  summary: "List contacts",
  description: "Newest first. Filter by `phone` (normalised), `external_id` or `segment_id`.",
  security: apiKeySecurity,
  middleware: [requireScope("contacts:read")] as const,
  request: { query: ListQuerySchema.extend(ContactListQuerySchema.shape) },
  responses: {
    200: { description: "Contacts, newest first", content: json(ContactListSchema) },
    ...errorResponses(401, 403, 422),
  },
});

const getContactRoute = createRoute({
  method: "get",
  path: "/v1/contacts/{id}",
  operationId: "getContact",
  tags,
  summary: "Read a contact",
  security: apiKeySecurity,
  middleware: [requireScope("contacts:read")] as const,
  request: { params: idParam },
  responses: {
    200: { description: "The contact", content: json(ContactSchema) },
    ...errorResponses(401, 403, 404),
  },
});

const patchContactRoute = createRoute({
  method: "patch",
  path: "/v1/contacts/{id}",
  operationId: "updateContact",
  tags,
  summary: "Change a contact",
  description: "The merge rules of `POST /v1/contacts`; the phone is the contact's key and cannot change.",
  security: apiKeySecurity,
  middleware: [requireScope("contacts:write")] as const,
  request: { params: idParam, body: { required: true, content: json(ContactPatchSchema) } },
  responses: {
    200: { description: "The updated contact", content: json(ContactSchema) },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422),
  },
});

const deleteContactRoute = createRoute({
  method: "delete",
  path: "/v1/contacts/{id}",
  operationId: "deleteContact",
  tags,
  summary: "Erase a contact",
  description:
    "Erases the contact's personal data: the contact, its pending messages (canceled with `status_reason` " +
    "`contact_deleted`), the text and the number's last four digits (`****`) of every message sent to or received " +
    "from it, its events' data, due dates and order links. Message ids, statuses and times stay for the books. " +
    "An opt-out outlives it: the phone stays suppressed (kept as a keyed hash), " +
    "so re-adding the number later does not resubscribe it without a new `consent` record.",
  security: apiKeySecurity,
  middleware: [requireScope("contacts:write")] as const,
  request: { params: idParam },
  responses: { 204: { description: "Erased" }, ...errorResponses(401, 403, 404) },
});

export const contactRoutes = createRouter()
  .openapi(upsertContactRoute, async (c) => {
    const ctx = c.var.services;
    const { contact, created } = await upsertContact(ctx, c.req.valid("json"), {
      source: "api",
      defaultMarketingOptIn: true,
    });
    return created ? c.json(contactView(contact), 201) : c.json(contactView(contact), 200);
  })
  .openapi(batchRoute, async (c) => {
    const ctx = c.var.services;
    const rows = c.req.valid("json").contacts;
    const { valid, failed } = parseRows(rows, ContactInputSchema);
    const outcomes = await upsertContacts(
      ctx,
      valid.map((v): ContactInput => v.input),
      { source: "batch", defaultMarketingOptIn: true },
    );
    let created = 0;
    let updated = 0;
    outcomes.forEach((o, i) => {
      if (o.ok) {
        if (o.created) created += 1;
        else updated += 1;
      } else failed.push({ index: valid[i]?.index ?? -1, errors: o.errors });
    });
    failed.sort((a, b) => a.index - b.index);
    return c.json({ created, updated, failed }, 200);
  })
  .openapi(listContactsRoute, async (c) => {
    const input = c.req.valid("query");
    const rows = await listContacts(c.var.services, input);
    const now = new Date();
    return c.json(
      page(rows, input.limit, (r) => contactView(r, now)),
      200,
    );
  })
  .openapi(getContactRoute, async (c) => {
    const row = await getContact(c.var.services, c.req.valid("param").id);
    return c.json(contactView(row), 200);
  })
  .openapi(patchContactRoute, async (c) => {
    const ctx = c.var.services;
    const row = await patchContact(ctx, c.req.valid("param").id, c.req.valid("json"));
    return c.json(contactView(row), 200);
  })
  .openapi(deleteContactRoute, async (c) => {
    await deleteContact(c.var.services, c.req.valid("param").id);
    return c.body(null, 204);
  });
