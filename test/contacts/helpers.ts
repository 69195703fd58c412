import { env } from "cloudflare:workers";

/** The Contact object as the API returns it. */
export interface Contact {
  id: string;
  phone: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  external_id: string | null;
  timezone: string | null;
  locale: string | null;
  birthday: string | null;
  age: number | null;
  attributes: Record<string, unknown>;
  subscribed: boolean;
  marketing_opt_in: boolean;
  unsubscribed_at: string | null;
  created_at: string;
  updated_at: string;
}
export interface Problem {
  status: number;
  errors?: { path: string; message: string }[];
}
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** The tenant's consent records, oldest first. */
export const consentRows = (tenantId: string) =>
  env.DB.prepare(
    "SELECT change, source, declared_source, text FROM consent_records WHERE tenant_id = ? ORDER BY created_at, rowid",
  )
    .bind(tenantId)
    .all<{ change: string; source: string; declared_source: string | null; text: string | null }>()
    .then((r) => r.results);
