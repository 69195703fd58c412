import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp, openApiDocument } from "../../src/app";
import { signStandard } from "../../src/domain/signatures";
import { ADMIN_TOKEN, call } from "../helpers/api";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { fromSchema, type Mutation, mutationArb, render, type Schema } from "./arbitraries";

/**
 * The hostile-input property: for every JSON route (enumerated from the app's own OpenAPI registry,
 * so a new route is covered without touching this file), bodies derived from the route's request
 * schema and then mutated — thousands of levels deep, thousands of keys or items wide, strings of
 * hundreds of kilobytes, wrong types, nulls, unknown and prototype keys — are answered with a
 * success or a 4xx problem+json (naming a field for 400/422), never a 5xx, and a 4xx writes nothing.
 */

const RUNS_PER_ROUTE = 50;
const doc = openApiDocument(createApp()) as {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>>;
  components: { schemas: Record<string, Schema> };
};

interface Target {
  method: string;
  path: string;
  schema: Schema;
}

const targets: Target[] = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).flatMap(([method, op]) => {
    const schema = op.requestBody?.content["application/json"]?.schema;
    return schema ? [{ method: method.toUpperCase(), path, schema }] : [];
  }),
);
// The storefront hook documents no body schema (its body is authenticated raw bytes): a standard
// integration's body is a POST /v1/events body.
targets.push({
  method: "POST",
  path: "/hooks/{integration_id}",
  schema: { $ref: "#/components/schemas/CreateEvent" },
});

// ---- snapshot of every D1 table --------------------------------------------------------------

/**
 * Bookkeeping that may change on any request, 4xx included, and is no write of the request's:
 * `api_keys.last_used_at` (refreshed by waitUntil at most once a minute per key).
 */
const IGNORED_COLUMNS = new Set(["api_keys.last_used_at"]);
let snapshotSql = "";

async function prepareSnapshot() {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' ORDER BY name",
  ).all<{ name: string }>();
  const parts: string[] = [];
  for (const { name } of tables.results) {
    const cols = await env.DB.prepare("SELECT name FROM pragma_table_info(?)")
      .bind(name)
      .all<{ name: string }>();
    const kept = cols.results.map((c) => c.name).filter((c) => !IGNORED_COLUMNS.has(`${name}.${c}`));
    // Flat function calls, not `||` chains: SQLite refuses expression trees deeper than 100.
    const row = `json_array(${kept.map((c) => `quote("${c}")`).join(", ")})`;
    parts.push(`(SELECT json_group_array(r) FROM (SELECT ${row} AS r FROM "${name}" ORDER BY r))`);
  }
  snapshotSql = `SELECT json_array(${parts.join(", ")}) AS s`;
}

const snapshot = async (): Promise<string> =>
  (await env.DB.prepare(snapshotSql).first<{ s: string }>())?.s ?? "";

/** Background work (queue consumers, waitUntil) of earlier successes may still be writing. */
async function settled(): Promise<string> {
  let last = await snapshot();
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await snapshot();
    if (now === last) return now;
    last = now;
  }
  return last;
}

// ---- the tenant and resources the paths name ------------------------------------------------

let tenant: TestTenant;
let ids: Record<string, string> = {};
let hookSecret = "";
let tried = 0;
/** The last request succeeded: its background work may still be running. */
let afterSuccess = true;
const statuses: Record<string, number> = {};
let hookSeq = 0;

beforeAll(async () => {
  tenant = await newTenant();
  const post = async (path: string, body: unknown) => {
    const r = await tenant.api.post<{ id: string; secret?: string }>(path, body);
    if (r.status >= 300) throw new Error(`${path}: ${r.text}`);
    return r.body;
  };
  const contact = await post("/v1/contacts", { phone: "+15125550142", first_name: "Ada" });
  const segment = await post("/v1/segments", {
    name: "s",
    filter: { field: "city", op: "eq", value: "Austin" },
  });
  const program = await post("/v1/programs", { name: "p", kind: "custom", status: "paused" });
  const carrier = await post("/v1/carriers", { provider: "sandbox" });
  const endpoint = await post("/v1/webhook-endpoints", {
    url: "http://127.0.0.1:9/hook",
    events: ["contact.subscribed"],
  });
  const integration = await post("/v1/integrations", { type: "standard" });
  hookSecret = integration.secret ?? "";
  ids = {
    "/v1/contacts/": contact.id,
    "/v1/segments/": segment.id,
    "/v1/programs/": program.id,
    "/v1/carriers/": carrier.id,
    "/v1/webhook-endpoints/": endpoint.id,
    "/callbacks/": carrier.id,
    "/hooks/": integration.id,
    "/v1/tenants/": tenant.id,
  };
  await prepareSnapshot();
});

const concretePath = (path: string): string => {
  const prefix = Object.keys(ids).find((p) => path.startsWith(p));
  return path.replace(/\{[^}]+\}/g, prefix ? (ids[prefix] as string) : "x_unknown");
};

async function send(t: Target, raw: string) {
  const path = concretePath(t.path);
  const headers: Record<string, string> = { "content-type": "application/json" };
  let key: string | null = tenant.key;
  // The operator's routes take ADMIN_TOKEN (a tenant key would only ever see 401 there).
  if (t.path === "/v1/tenants" || t.path.startsWith("/v1/tenants/")) key = ADMIN_TOKEN;
  if (t.path.startsWith("/hooks/")) {
    key = null;
    const id = `hostile-${++hookSeq}`;
    const ts = Math.floor(Date.now() / 1000);
    Object.assign(headers, {
      "webhook-id": id,
      "webhook-timestamp": String(ts),
      "webhook-signature": await signStandard(hookSecret, id, ts, raw),
    });
  }
  // call() also checks the answer against the route's documented responses and their schemas.
  return call(t.method, path, { key, rawBody: raw, headers });
}

interface Failure {
  route: string;
  status: number | string;
  why: string;
  body: string;
}

async function check(t: Target, raw: string, failures: Failure[]) {
  const route = `${t.method} ${t.path}`;
  const fail = (status: number | string, why: string) =>
    failures.push({
      route,
      status,
      why,
      body: raw.length > 300 ? `${raw.slice(0, 300)}… (${raw.length} chars)` : raw,
    });
  tried += 1;
  // Background work (queue consumers, waitUntil) of an earlier success could still be writing:
  // let it settle first, so that any change seen during this request is this request's.
  const before = afterSuccess ? await settled() : await snapshot();
  afterSuccess = false;
  let res: Awaited<ReturnType<typeof send>>;
  try {
    res = await send(t, raw);
  } catch (err) {
    return fail("undocumented", String(err).slice(0, 500));
  }
  statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  if (res.status >= 500) return fail(res.status, res.text.slice(0, 300));
  if (res.status < 400) {
    afterSuccess = true;
    return;
  }
  if (res.headers.get("content-type") !== "application/problem+json")
    return fail(res.status, "not problem+json");
  const problem = res.body as { status?: number; errors?: { path: string; message: string }[] };
  if (problem.status !== res.status) return fail(res.status, "problem status differs");
  if ([400, 422].includes(res.status) && !(problem.errors?.length && problem.errors.every((e) => e.path)))
    return fail(res.status, `no field named: ${res.text.slice(0, 300)}`);
  if ((await snapshot()) !== before) fail(res.status, "a 4xx wrote to D1");
}

describe("hostile input on every JSON route", () => {
  it("covers the JSON routes of the document", () => {
    const names = targets.map((t) => `${t.method} ${t.path}`);
    for (const r of [
      "POST /v1/tenants",
      "PATCH /v1/tenants/{id}",
      "POST /v1/segments",
      "POST /v1/programs",
      "PATCH /v1/contacts/{id}",
      "POST /hooks/{integration_id}",
    ])
      expect(names).toContain(r);
  });

  for (const t of targets) {
    it(`${t.method} ${t.path}: never a 5xx, a 4xx is problem+json and writes nothing`, async () => {
      const failures: Failure[] = [];
      const bodyArb = fromSchema(doc.components.schemas, t.schema);
      let seed = 0;
      for (const ch of `${t.method} ${t.path}`) seed = (seed * 31 + ch.charCodeAt(0)) | 0;
      await fc.assert(
        fc.asyncProperty(bodyArb, mutationArb, async (body: unknown, m: Mutation) => {
          await check(t, render(body, m), failures);
        }),
        { numRuns: RUNS_PER_ROUTE, seed, endOnFailure: true },
      );
      expect(failures.slice(0, 5)).toEqual([]);
    });
  }

  it("tried every body (the figure for the closing note)", () => {
    console.log(
      `hostile-input: ${tried} bodies tried over ${targets.length} routes; answers ${JSON.stringify(statuses)}`,
    );
    expect(tried).toBeGreaterThanOrEqual(targets.length * RUNS_PER_ROUTE);
  });
});
