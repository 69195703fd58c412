import { ADMIN_TOKEN, type Client, call, client } from "./api";

export interface TestTenant {
  id: string;
  key: string;
  api: Client;
  /** A key with only the given scopes. */
  keyWith: (scopes: string[]) => Promise<string>;
}

let n = 0;

/** A fresh tenant per test: no test depends on another's rows. */
export async function newTenant(settings: Record<string, unknown> = {}): Promise<TestTenant> {
  n += 1;
  const res = await call<{ tenant: { id: string }; api_key: string }>("POST", "/v1/tenants", {
    key: ADMIN_TOKEN,
    body: { name: `Test Shop ${n}`, brand_name: `Test Shop ${n}`, ...settings },
  });
  if (res.status !== 201) throw new Error(`tenant creation failed: ${res.status} ${res.text}`);
  const key = res.body.api_key;
  const api = client(key);
  return {
    id: res.body.tenant.id,
    key,
    api,
    keyWith: async (scopes) => {
      const r = await api.post<{ key: string }>("/v1/api-keys", {
        name: `scoped ${scopes.join(",")}`.slice(0, 100),
        scopes,
      });
      if (r.status !== 201) throw new Error(`key creation failed: ${r.text}`);
      return r.body.key;
    },
  };
}
