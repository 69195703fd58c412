/**
 * The Message object (PRODUCT.md, Messages) — one field list for every place that shows a message:
 * the API (`messageView`, every `/v1/messages` response) and every `message.*` webhook, whose
 * `data` is written in SQL in the same batch as the status change (`messageJsonSql`, used by
 * `webhooks/in-batch.ts`), whichever path produced it (sandbox, carrier response, carrier
 * callback, dead letter). A key added here appears in both; they cannot drift.
 */
import { getTableColumns } from "drizzle-orm";
import type { MessageRow } from "../../db/rows";
import { messages } from "../../db/schema";
import type { MessageStatus } from "./status";

/** The keys of the Message object, in order, and the row property each comes from. */
export const MESSAGE_FIELDS = [
  { key: "id", prop: "id" },
  { key: "contact_id", prop: "contactId" },
  { key: "program_id", prop: "programId" },
  { key: "to", prop: "to" },
  { key: "from", prop: "from" },
  { key: "body", prop: "body" },
  { key: "encoding", prop: "encoding" },
  { key: "segments", prop: "segments" },
  { key: "status", prop: "status" },
  { key: "status_reason", prop: "statusReason" },
  { key: "scheduled_at", prop: "scheduledAt" },
  { key: "sent_at", prop: "sentAt" },
  { key: "delivered_at", prop: "deliveredAt" },
  { key: "carrier_id", prop: "carrierId" },
  { key: "carrier_message_id", prop: "carrierMessageId" },
  { key: "error_code", prop: "errorCode" },
  { key: "error_message", prop: "errorMessage" },
  { key: "attempts", prop: "attempts" },
  { key: "created_at", prop: "createdAt" },
  { key: "updated_at", prop: "updatedAt" },
] as const satisfies readonly { key: string; prop: keyof MessageRow }[];

type Field = (typeof MESSAGE_FIELDS)[number];
export type MessageKey = Field["key"];

/** The Message object as the API and the webhooks show it. */
export type MessageView = {
  [F in Field as F["key"]]: F["key"] extends "status" ? MessageStatus : MessageRow[F["prop"]];
};

const COLUMNS = getTableColumns(messages);

/** The Message object of a row. */
export const messageView = (m: MessageRow): MessageView =>
  Object.fromEntries(MESSAGE_FIELDS.map((f) => [f.key, m[f.prop]])) as MessageView;

/**
 * The same object as a SQLite `json_object(...)` over the messages row aliased `alias`; `replace`
 * puts an SQL expression in place of a key's column (e.g. `{ status: "?" }`: the status of the
 * event being reported, bound by the caller at that position).
 */
export function messageJsonSql(alias: string, replace: Partial<Record<MessageKey, string>> = {}): string {
  const pairs = MESSAGE_FIELDS.map(
    (f) => `'${f.key}', ${replace[f.key] ?? `${alias}."${COLUMNS[f.prop].name}"`}`,
  );
  return `json_object(${pairs.join(", ")})`;
}
