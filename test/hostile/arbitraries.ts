import fc from "fast-check";

/** A JSON Schema node of the OpenAPI 3.1 document (the subset Herald's zod schemas produce). */
export type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  format?: string;
  example?: unknown;
};

/**
 * Valid-ish values for a schema: often its documented example, otherwise a value of the right
 * shape (required fields present, optional ones sometimes), so many bodies get past validation and
 * reach the services. Recursive schemas (segment filters) stop at `depth`.
 */
export function fromSchema(
  components: Record<string, Schema>,
  root: Schema,
  maxDepth = 4,
): fc.Arbitrary<unknown> {
  const go = (s: Schema, depth: number): fc.Arbitrary<unknown> => {
    if (s.$ref) return go(components[s.$ref.split("/").pop() ?? ""] ?? {}, depth);
    const example = s.example !== undefined ? [fc.constant(s.example)] : [];
    if (depth > maxDepth) return example[0] ?? fc.constant(null);
    if (s.const !== undefined) return fc.constant(s.const);
    if (s.enum) return fc.constantFrom(...s.enum);
    const alternatives = s.anyOf ?? s.oneOf;
    if (alternatives) return fc.oneof(...example, ...alternatives.map((a) => go(a, depth + 1)));
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    if (types.length > 1)
      return fc.oneof(...example, ...types.map((t) => go({ ...s, type: t, example: undefined }, depth)));
    const typed = ((): fc.Arbitrary<unknown> => {
      switch (types[0]) {
        case "string":
          if (s.format === "date-time") return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
          return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 20, 20) });
        case "integer":
          return fc.integer({ min: s.minimum ?? -10, max: Math.min(s.maximum ?? 1000, 1000) });
        case "number":
          return fc.double({ min: s.minimum ?? -1000, max: s.maximum ?? 1000, noNaN: true });
        case "boolean":
          return fc.boolean();
        case "null":
          return fc.constant(null);
        case "array":
          return fc.array(go(s.items ?? {}, depth + 1), {
            minLength: s.minItems ?? 0,
            maxLength: Math.max(s.minItems ?? 0, Math.min(s.maxItems ?? 3, 3)),
          });
        default: {
          if (!s.properties && !(types[0] === "object")) return fc.jsonValue({ maxDepth: 2 });
          const props = s.properties ?? {};
          const required = s.required ?? [];
          const record = fc.record(
            Object.fromEntries(Object.entries(props).map(([k, v]) => [k, go(v, depth + 1)])),
            { requiredKeys: required.filter((k) => k in props) as never[] },
          );
          if (s.additionalProperties && typeof s.additionalProperties === "object") {
            const extra = fc.dictionary(
              fc.string({ minLength: 1, maxLength: 8 }),
              go(s.additionalProperties, depth + 1),
              {
                maxKeys: 3,
              },
            );
            return fc.tuple(record, extra).map(([a, b]) => ({ ...b, ...a }));
          }
          return record;
        }
      }
    })();
    // The documented example is a valid value far more often than a random one.
    return example.length
      ? fc.oneof({ arbitrary: example[0] as fc.Arbitrary<unknown>, weight: 2 }, typed)
      : typed;
  };
  return go(root, 0);
}

/** A placeholder that the raw JSON text replaces with `n` levels of nesting (too deep to build as a value). */
export const DEEP = "\u0000deep:";

/** Hostile values: deep, wide, huge, wrongly typed, null, prototype-shaped. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(33, 64, 1_000, 5_000, 20_000).map((n) => `${DEEP}${n}`),
  fc.integer({ min: 1, max: 31 }).map((n) => `${DEEP}${n}`),
  fc
    .integer({ min: 100, max: 5_000 })
    .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
  fc.integer({ min: 100, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => i % 7)),
  fc
    .constantFrom(1_601, 10_000, 100_000, 600_000)
    .chain((n) => fc.constantFrom("x", "é", "😀", "\ud800").map((c) => c.repeat(n))),
  fc.string({ unit: "binary", maxLength: 2_000, size: "max" }),
  fc.oneof(
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
  ),
  fc.constantFrom(-1, 0, 1e308, -1e308, 2 ** 53 + 1, 0.1, "", " ", "null", "true", "0", "1e999", "NaN"),
  fc.constantFrom(
    "{{ contact.first_name }}",
    "{% for i in (1..100) %}x{% endfor %}",
    "' OR 1=1 --",
    "../../etc/passwd",
  ),
  fc.jsonValue({ maxDepth: 4 }),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3_000, size: "max" }),
  fc.constant(JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}')),
);

export const PROTO_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf"];

type Path = (string | number)[];

/** Paths of every node of a JSON value (the root is `[]`), at most `limit`. */
function paths(v: unknown, limit = 200): Path[] {
  const out: Path[] = [[]];
  const stack: [unknown, Path][] = [[v, []]];
  while (stack.length && out.length < limit) {
    const [node, path] = stack.pop() as [unknown, Path];
    if (node && typeof node === "object") {
      for (const [k, child] of Object.entries(node as Record<string, unknown>)) {
        const p = [...path, Array.isArray(node) ? Number(k) : k];
        out.push(p);
        stack.push([child, p]);
      }
    }
  }
  return out;
}

const setOwn = (o: Record<string, unknown>, k: string, v: unknown) =>
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

/** A structural copy that keeps own `__proto__` keys (JSON round trip). */
const clone = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

export type Mutation =
  | { kind: "none" }
  | { kind: "nest"; at: number; levels: number; inArray: boolean }
  | { kind: "replace"; at: number; value: unknown }
  | { kind: "add"; at: number; key: string; value: unknown }
  | { kind: "delete"; at: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.constant({ kind: "none" } as const), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), value: hostileValue }),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      at: fc.nat(),
      key: fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string({ maxLength: 300, size: "max" })),
      value: hostileValue,
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }), weight: 1 },
  // Deep along the schema's own shape: an object node wrapped in itself under one of its keys
  // (`{"not": {"not": … }}`), which is what reaches recursive validators.
  {
    arbitrary: fc.record({
      kind: fc.constant("nest" as const),
      at: fc.nat(),
      levels: fc.oneof(
        { arbitrary: fc.integer({ min: 2, max: 40 }), weight: 1 },
        { arbitrary: fc.constantFrom(1_000, 5_000, 20_000), weight: 2 },
      ),
      inArray: fc.boolean(),
    }),
    weight: 4,
  },
);

const NEST = "\u0001nest:";

/** Applies a mutation to a copy of `body` and renders the raw JSON text (deep placeholders expanded). */
export function render(body: unknown, m: Mutation): string {
  const nests: string[] = [];
  let value = clone(body);
  if (m.kind !== "none") {
    const all = paths(value);
    const path = all[m.at % all.length] as Path;
    const parentPath = path.slice(0, -1);
    const last = path[path.length - 1];
    let parent: unknown = value;
    for (const k of parentPath) parent = (parent as Record<string | number, unknown>)[k];
    let target: unknown = value;
    for (const k of path) target = (target as Record<string | number, unknown>)[k];
    if (m.kind === "replace") {
      if (path.length === 0) value = m.value;
      else setOwn(parent as Record<string, unknown>, String(last), m.value);
    } else if (m.kind === "add") {
      const obj = target && typeof target === "object" && !Array.isArray(target) ? target : value;
      if (obj && typeof obj === "object" && !Array.isArray(obj))
        setOwn(obj as Record<string, unknown>, m.key, m.value);
      else value = { [m.key]: m.value };
    } else if (m.kind === "delete" && path.length > 0) {
      delete (parent as Record<string, unknown>)[String(last)];
    } else if (m.kind === "nest") {
      const objects = all.filter((p) => {
        let node: unknown = value;
        for (const k of p) node = (node as Record<string | number, unknown>)[k];
        return node && typeof node === "object" && !Array.isArray(node) && Object.keys(node).length > 0;
      });
      const at = objects[m.at % Math.max(objects.length, 1)];
      if (at) {
        let node: unknown = value;
        for (const k of at) node = (node as Record<string | number, unknown>)[k];
        const key = JSON.stringify(Object.keys(node as object)[0]);
        const open = m.inArray ? `{${key}:[` : `{${key}:`;
        const close = m.inArray ? "]}" : "}";
        const nested = `${open.repeat(m.levels)}${JSON.stringify(node)}${close.repeat(m.levels)}`;
        const marker = `${NEST}${nests.push(nested) - 1}`;
        if (at.length === 0) value = marker;
        else {
          let p: unknown = value;
          for (const k of at.slice(0, -1)) p = (p as Record<string | number, unknown>)[k];
          setOwn(p as Record<string, unknown>, String(at[at.length - 1]), marker);
        }
      }
    }
  }
  const text = JSON.stringify(value) ?? "null";
  return text
    .replace(/"\\u0001nest:(\d+)"/g, (_, i) => nests[Number(i)] as string)
    .replace(/"\\u0000deep:(\d+)"/g, (_, n) => {
      const levels = Number(n);
      return levels % 2
        ? `${"[".repeat(levels)}${"]".repeat(levels)}`
        : `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
    });
}
