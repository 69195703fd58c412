import { createRoute } from "@hono/zod-openapi";
import { apiKeySecurity, createRouter, IdParam, json } from "../../lib/openapi";
import { page } from "../../lib/pagination";
import { errorResponses } from "../../lib/problem";
import { requireScope } from "../../middleware/auth";
import { IdempotencyKeyHeaderSchema, idempotency } from "../../middleware/idempotency";
import { cancelMessage, getMessageWithEvents, listMessages } from "../../services/messages/read";
import { sendApiMessage } from "../../services/messages/send";
import {
  MessageDetailSchema,
  MessageListQuerySchema,
  MessageListSchema,
  MessageSchema,
  type MessageView,
  messageView,
  SendMessageSchema,
} from "./schema";

export { MessageSchema, messageView };

const tags = ["Messages"];
const idParam = IdParam("msg_0mhx2k1a0AbCdEfGhIjKlMn");

const sendMessageRoute = createRoute({
  method: "post",
  path: "/v1/messages",
  operationId: "sendMessage",
  tags,
  summary: "Send a message",
  description:
    "Sending rules 1–5 are decided now, so the answer already says `queued`, `scheduled` (send_at or quiet hours) or `suppressed` with its `status_reason`. Marketing messages need `marketing_opt_in`, count against the frequency cap and get the opt-out footer.",
  security: apiKeySecurity,
  middleware: [requireScope("messages:write"), idempotency] as const,
  request: {
    headers: IdempotencyKeyHeaderSchema,
    body: { required: true, content: json(SendMessageSchema) },
  },
  responses: {
    202: { description: "Accepted", content: json(MessageSchema) },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

const getMessageRoute = createRoute({
  method: "get",
  path: "/v1/messages/{id}",
  operationId: "getMessage",
  tags,
  summary: "Get a message with its status history",
  security: apiKeySecurity,
  middleware: [requireScope("messages:read")] as const,
  request: { params: idParam },
  responses: {
    200: { description: "The message", content: json(MessageDetailSchema) },
    ...errorResponses(401, 403, 404),
  },
});

const listMessagesRoute = createRoute({
  method: "get",
  path: "/v1/messages",
  operationId: "listMessages",
  tags,
  summary: "List messages",
  security: apiKeySecurity,
  middleware: [requireScope("messages:read")] as const,
  request: { query: MessageListQuerySchema },
  responses: {
    200: { description: "Messages, newest first", content: json(MessageListSchema) },
    ...errorResponses(401, 403, 422),
  },
});

const cancelMessageRoute = createRoute({
  method: "post",
  path: "/v1/messages/{id}/cancel",
  operationId: "cancelMessage",
  tags,
  summary: "Cancel a pending message",
  description: "Only `scheduled` or `queued` messages can be canceled; anything further along answers 409.",
  security: apiKeySecurity,
  middleware: [requireScope("messages:write"), idempotency] as const,
  request: { params: idParam, headers: IdempotencyKeyHeaderSchema },
  responses: {
    200: { description: "Canceled", content: json(MessageSchema) },
    ...errorResponses(401, 403, 404, 409, 422),
  },
});

export const messageRoutes = createRouter()
  .openapi(sendMessageRoute, async (c) => {
    const ctx = c.var.services;
    const row = await sendApiMessage(ctx, c.req.valid("json"));
    return c.json(messageView(row), 202);
  })
  .openapi(getMessageRoute, async (c) => {
    const ctx = c.var.services;
    const { message, events } = await getMessageWithEvents(ctx, c.req.valid("param").id);
    return c.json(
      {
        ...messageView(message),
        events: events.map((e) => ({
          status: e.status as MessageView["status"],
          at: e.at,
          detail: e.detail,
        })),
      },
      200,
    );
  })
  .openapi(listMessagesRoute, async (c) => {
    const input = c.req.valid("query");
    const rows = await listMessages(c.var.services, input);
    return c.json(page(rows, input.limit, messageView), 200);
  })
  .openapi(cancelMessageRoute, async (c) => {
    const row = await cancelMessage(c.var.services, c.req.valid("param").id);
    return c.json(messageView(row), 200);
  });
