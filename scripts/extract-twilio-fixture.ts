// Extracts Twilio's CreateMessage operation (path, servers, form request body) from Twilio's own
// OpenAPI description into a small committed fixture the adapter tests validate requests against.
// Usage: tsx scripts/extract-twilio-fixture.ts [path/to/twilio_api_v2010.json]
import { chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json";
const source = process.argv[2] ?? "../shared/reference/twilio_api_v2010.json";
const out = "test/fixtures/twilio-create-message.openapi.json";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const doc = JSON.parse(readFileSync(source, "utf8")) as { [k: string]: Json };

/** Inlines `#/components/...` references so the fixture stands alone. */
function resolve(node: Json, seen: string[] = []): Json {
  if (Array.isArray(node)) return node.map((n) => resolve(n, seen));
  if (node === null || typeof node !== "object") return node;
  const ref = node.$ref;
  if (typeof ref === "string" && ref.startsWith("#/")) {
    if (seen.includes(ref)) throw new Error(`cyclic $ref ${ref}`);
    let target: Json = doc;
    for (const part of ref.slice(2).split("/")) target = (target as { [k: string]: Json })[part] ?? null;
    return resolve(target, [...seen, ref]);
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v, seen)]));
}

const pathItem = (doc.paths as { [k: string]: { [k: string]: Json } })[PATH];
if (!pathItem) throw new Error(`${PATH} not found in ${source}`);
const post = pathItem.post as { [k: string]: Json };
if (post.operationId !== "CreateMessage")
  throw new Error(`unexpected operationId ${String(post.operationId)}`);

const fixture = {
  source: "twilio/twilio-oai spec/json/twilio_api_v2010.json (MIT, see the sibling .LICENSE file)",
  info_version: (doc.info as { [k: string]: Json }).version ?? null,
  path: PATH,
  method: "post",
  servers: pathItem.servers ?? null,
  operationId: post.operationId,
  parameters: resolve(post.parameters ?? pathItem.parameters ?? null),
  requestBody: resolve(post.requestBody ?? null),
};
writeFileSync(out, `${JSON.stringify(fixture, null, 2)}\n`);
const license = join(dirname(source), "twilio-oai.LICENSE");
if (existsSync(license)) {
  const target = out.replace(/\.json$/, ".LICENSE");
  copyFileSync(license, target);
  chmodSync(target, 0o644);
}
console.log(`${out} written.`);
