import { describe, expect, it } from "vitest";
import { createApp, openApiDocument } from "../src/app";
import { call } from "./helpers/api";

type Schema = Record<string, unknown>;

/** Every property of every schema, parameter and body in the document lacking a description or an example. */
function undocumented(doc: Schema): string[] {
  const missing: string[] = [];
  const walk = (s: unknown, where: string) => {
    if (!s || typeof s !== "object" || "$ref" in s) return;
    const schema = s as Schema;
    for (const [name, prop] of Object.entries(
      (schema.properties as Record<string, Schema> | undefined) ?? {},
    )) {
      // A reference, or a list of references, takes its examples from the referenced component.
      const items = prop.items as Schema | undefined;
      if (!("$ref" in prop) && !(prop.type === "array" && items && "$ref" in items)) {
        if (!("description" in prop)) missing.push(`${where}.${name}: description`);
        if (!("example" in prop) && !("examples" in prop)) missing.push(`${where}.${name}: example`);
      }
      walk(prop, `${where}.${name}`);
    }
    for (const key of ["items", "additionalProperties", "not"]) walk(schema[key], `${where}[]`);
    for (const key of ["anyOf", "oneOf", "allOf"]) {
      for (const [i, sub] of ((schema[key] as unknown[] | undefined) ?? []).entries())
        walk(sub, `${where}|${i}`);
    }
  };
  const components = (doc.components as { schemas: Record<string, Schema> }).schemas;
  for (const [name, schema] of Object.entries(components)) walk(schema, name);
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(item)) {
      for (const p of (op.parameters as Schema[] | undefined) ?? []) {
        const sch = (p.schema ?? {}) as Schema;
        if (!("description" in p) && !("description" in sch))
          missing.push(`${method} ${path} ${p.name}: description`);
        if (!("example" in p) && !("example" in sch)) missing.push(`${method} ${path} ${p.name}: example`);
      }
      const body = op.requestBody as { content?: Record<string, { schema: Schema }> } | undefined;
      for (const media of Object.values(body?.content ?? {})) walk(media.schema, `${method} ${path} body`);
      for (const [status, res] of Object.entries(
        op.responses as Record<string, { content?: Record<string, { schema: Schema }> }>,
      )) {
        for (const media of Object.values(res.content ?? {}))
          walk(media.schema, `${method} ${path} ${status}`);
      }
    }
  }
  return missing;
}

describe("the OpenAPI document", () => {
  it("is served at /openapi.json exactly as generated from the routes", async () => {
    const res = await call("GET", "/openapi.json", { unchecked: true });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(openApiDocument(createApp()))));
  });

  it("gives every field, parameter and body a description and an example", () => {
    const doc = JSON.parse(JSON.stringify(openApiDocument(createApp()))) as Schema;
    expect(undocumented(doc)).toEqual([]);
  });

  it("documents every operation with an id, a tag and its error responses as problem+json", () => {
    const doc = JSON.parse(JSON.stringify(openApiDocument(createApp()))) as {
      paths: Record<string, Record<string, Schema>>;
    };
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.operationId, `${method} ${path}`).toBeTypeOf("string");
        expect(ids.has(op.operationId as string), `duplicate ${op.operationId}`).toBe(false);
        ids.add(op.operationId as string);
        expect((op.tags as string[]).length, `${method} ${path} tags`).toBeGreaterThan(0);
        for (const [status, res] of Object.entries(
          op.responses as Record<string, { content?: Record<string, unknown> }>,
        )) {
          if (Number(status) >= 400)
            expect(Object.keys(res.content ?? {}), `${method} ${path} ${status}`).toEqual([
              "application/problem+json",
            ]);
        }
      }
    }
  });
});
