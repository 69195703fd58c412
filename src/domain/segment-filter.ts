import { z } from "@hono/zod-openapi";
import { joinBalanced, LEAF_HEIGHT, type Part } from "./sql-tree";

/**
 * Segment filters: `{all: [...]}`, `{any: [...]}`, `{not: filter}` or a condition
 * `{field, op, value}`, compiled to a WHERE fragment over the `contacts` table whose every value —
 * attribute paths included — is a bound parameter. Lists travel as one JSON parameter expanded
 * with `json_each(?)`, and a filter with many conditions travels as one JSON parameter too
 * (`packParams`), so no filter can reach D1's 100-parameter limit.
 */

export const FILTER_OPS = [
  "eq",
  "neq",
  "gt",
  "gte",
  "lt",
  "lte",
  "in",
  "not_in",
  "contains",
  "starts_with",
  "exists",
  "not_exists",
] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

type Scalar = string | number | boolean;
type Kind = "string" | "number" | "boolean" | "timestamp" | "any";

interface FieldSpec {
  kind: Kind;
  /** SQL expression over `contacts` (a column name or a fixed expression; never user text). */
  column?: string;
}

/** Well-known fields and the columns (or generated columns) that answer them with an index. */
const FIELDS: Record<string, FieldSpec> = {
  age: { kind: "number" },
  birthday_month: { kind: "number", column: "birthday_month" },
  first_name: { kind: "string", column: "first_name" },
  last_name: { kind: "string", column: "last_name" },
  email: { kind: "string", column: "email" },
  timezone: { kind: "string", column: "timezone" },
  locale: { kind: "string", column: "locale" },
  subscribed: { kind: "boolean", column: "subscribed" },
  created_at: { kind: "timestamp", column: "created_at" },
  gender: { kind: "string", column: "gender" },
  income: { kind: "number", column: "income" },
  city: { kind: "string", column: "city" },
  region: { kind: "string", column: "region" },
  country: { kind: "string", column: "country" },
  postal_code: { kind: "string", column: "postal_code" },
};

export const FILTER_FIELDS = [...Object.keys(FIELDS), "attributes.<key>"];
export const ATTRIBUTE_KEY = /^[A-Za-z0-9_]{1,64}$/;
const MAX_DEPTH = 16;
const MAX_CONDITIONS = 500;
const MAX_LIST = 1000;

export type FilterCondition = { field: string; op: FilterOp; value?: Scalar | Scalar[] };
export type Filter = { all: Filter[] } | { any: Filter[] } | { not: Filter } | FilterCondition;

function fieldSpec(field: string): FieldSpec | undefined {
  if (Object.hasOwn(FIELDS, field)) return FIELDS[field];
  if (field.startsWith("attributes.")) {
    const key = field.slice("attributes.".length);
    if (!ATTRIBUTE_KEY.test(key)) return undefined;
    // A well-known key written as an attribute still uses its indexed generated column.
    const known = FIELDS[key];
    if (known?.column && ["gender", "income", "city", "region", "country", "postal_code"].includes(key)) {
      return known;
    }
    return { kind: "any" };
  }
  return undefined;
}

const isTimestamp = (v: unknown): v is string =>
  typeof v === "string" &&
  /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(v) &&
  !Number.isNaN(Date.parse(v));

function scalarFits(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case "string":
      return typeof v === "string";
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "boolean":
      return typeof v === "boolean";
    case "timestamp":
      return isTimestamp(v);
    case "any":
      return typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
  }
}

const kindName: Record<Kind, string> = {
  string: "a string",
  number: "a number",
  boolean: "a boolean",
  timestamp: "an ISO-8601 date or timestamp",
  any: "a string, number or boolean",
};

/** The problems of one condition (empty when it is valid), each with its path inside the condition. */
export function conditionIssues(c: {
  field: unknown;
  op: unknown;
  value?: unknown;
}): { path: string; message: string }[] {
  if (typeof c.field !== "string") return [{ path: "field", message: "must be a string" }];
  const spec = fieldSpec(c.field);
  if (!spec) {
    return [
      {
        path: "field",
        message: c.field.startsWith("attributes.")
          ? "attribute keys are 1–64 letters, digits or underscores"
          : `is not a filterable field (${FILTER_FIELDS.join(", ")})`,
      },
    ];
  }
  const op = c.op as FilterOp;
  if (!FILTER_OPS.includes(op)) return [{ path: "op", message: `must be one of ${FILTER_OPS.join(", ")}` }];
  const v = c.value;
  if (op === "exists" || op === "not_exists") {
    return v === undefined ? [] : [{ path: "value", message: `must be absent for ${op}` }];
  }
  if (v === undefined) return [{ path: "value", message: `is required for ${op}` }];
  if (op === "in" || op === "not_in") {
    if (!Array.isArray(v) || v.length === 0 || v.length > MAX_LIST) {
      return [{ path: "value", message: `must be a list of 1–${MAX_LIST} values for ${op}` }];
    }
    const bad = v.findIndex((x) => !scalarFits(spec.kind, x));
    return bad >= 0 ? [{ path: `value.${bad}`, message: `must be ${kindName[spec.kind]}` }] : [];
  }
  if (Array.isArray(v)) return [{ path: "value", message: `must be a single value for ${op}` }];
  if (op === "contains" || op === "starts_with") {
    if (spec.kind !== "string" && spec.kind !== "any") {
      return [{ path: "op", message: `${op} applies to text fields only` }];
    }
    return typeof v === "string" && v.length > 0
      ? []
      : [{ path: "value", message: "must be a non-empty string" }];
  }
  if (spec.kind === "boolean" && op !== "eq" && op !== "neq") {
    return [{ path: "op", message: `${c.field} supports eq, neq, exists and not_exists` }];
  }
  if (!scalarFits(spec.kind, v)) return [{ path: "value", message: `must be ${kindName[spec.kind]}` }];
  if (spec.kind === "any" && typeof v === "boolean" && op !== "eq" && op !== "neq") {
    return [{ path: "value", message: `${op} compares numbers or strings, not booleans` }];
  }
  return [];
}

const ScalarSchema = z.union([z.string().max(1000), z.number(), z.boolean()]);

const ConditionSchema = z
  .strictObject({
    field: z.string().openapi({
      description: `Contact field: ${FILTER_FIELDS.join(", ")}.`,
      example: "city",
    }),
    // A plain string validated below, so a bad op is reported on `op` instead of failing the whole union.
    op: z.string().openapi({ description: "Comparison.", example: "eq", enum: [...FILTER_OPS] }),
    value: z
      .union([ScalarSchema, z.array(ScalarSchema)])
      .optional()
      .openapi({
        description: "Compared value; a list for in/not_in; absent for exists/not_exists.",
        example: "Austin",
      }),
  })
  .superRefine((c, ctx) => {
    for (const issue of conditionIssues(c as FilterCondition)) {
      ctx.addIssue({ code: "custom", path: issue.path.split("."), message: issue.message });
    }
  })
  .openapi("FilterCondition");

/** `{all}` | `{any}` | `{not}` | `{field, op, value}`, at most 16 deep and 500 conditions (PRODUCT.md, input bounds). */
export const FilterSchema: z.ZodType<Filter> = z
  .lazy(() =>
    z.union([
      z.strictObject({ all: z.array(FilterSchema).min(1).max(MAX_CONDITIONS) }),
      z.strictObject({ any: z.array(FilterSchema).min(1).max(MAX_CONDITIONS) }),
      z.strictObject({ not: FilterSchema }),
      ConditionSchema,
    ]),
  )
  .superRefine((f, ctx) => {
    const { depth, conditions } = measure(f as Filter);
    if (depth > MAX_DEPTH) ctx.addIssue({ code: "custom", message: `nests deeper than ${MAX_DEPTH} levels` });
    if (conditions > MAX_CONDITIONS) {
      ctx.addIssue({ code: "custom", message: `has more than ${MAX_CONDITIONS} conditions` });
    } else if (conditions > 50 && compiledLength(f as Filter) > MAX_SQL_LENGTH) {
      ctx.addIssue({
        code: "custom",
        message: "is too large to evaluate; use in / not_in lists instead of many conditions",
      });
    }
  })
  .openapi("SegmentFilter", {
    description:
      'Contacts matching `{"all": [...]}`, `{"any": [...]}`, `{"not": filter}` or a condition `{"field", "op", "value"}`.',
    example: {
      all: [
        { field: "city", op: "eq", value: "Austin" },
        { field: "age", op: "gte", value: 21 },
      ],
    },
  }) as unknown as z.ZodType<Filter>;

/** D1 refuses statements over 100 KB; the query around a filter is short. */
const MAX_SQL_LENGTH = 80_000;

const compiledLength = (f: Filter): number => {
  try {
    return packParams(compileFilter(f, { now: new Date(0) })).sql.length;
  } catch {
    return 0; // an invalid condition: reported by its own issue
  }
};

function measure(f: Filter): { depth: number; conditions: number } {
  if ("all" in f || "any" in f) {
    const parts = ("all" in f ? f.all : f.any).map(measure);
    return {
      depth: 1 + Math.max(0, ...parts.map((p) => p.depth)),
      conditions: parts.reduce((n, p) => n + p.conditions, 0),
    };
  }
  if ("not" in f) {
    const inner = measure(f.not);
    return { depth: inner.depth + 1, conditions: inner.conditions };
  }
  return { depth: 1, conditions: 1 };
}

export interface CompiledFilter {
  /** A boolean SQL expression over `contacts` columns, with `?` placeholders in `params` order. */
  sql: string;
  params: unknown[];
}

const toSql = (v: Scalar): string | number => (typeof v === "boolean" ? (v ? 1 : 0) : v);

const likePattern = (s: string, prefixOnly: boolean): string => {
  const escaped = s.replace(/[\\%_]/g, (ch) => `\\${ch}`);
  return prefixOnly ? `${escaped}%` : `%${escaped}%`;
};

/** The comparison that holds exactly when `op` fails, for two non-NULL values (SQLite orders all values). */
const OPPOSITE = { eq: "!=", gt: "<=", gte: "<", lt: ">=", lte: ">" } as const;
const SQL_OP = { eq: "=", gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;

/**
 * Compiles a validated filter to a WHERE fragment. `not` is pushed down to the conditions (De
 * Morgan), so each condition is written in its plain, index-friendly form (`city = ?`,
 * `income >= ?`) and its negation says explicitly that a missing value is outside the condition
 * and inside its negation (`city IS NULL OR city != ?`) — SQL's three-valued NOT would drop it.
 * `age` is counted in whole years on `now`'s UTC date (the contact view counts it on the contact's
 * local date; the two differ for at most a day around a birthday). Throws on a filter that
 * `FilterSchema` would refuse.
 *
 * @example compileFilter({field: "city", op: "eq", value: "Austin"}, {now})
 *   // { sql: "city = ?", params: ["Austin"] }
 */
export function compileFilter(filter: Filter, opts: { now: Date }): CompiledFilter {
  const params: unknown[] = [];
  const today = opts.now.toISOString().slice(0, 10);

  /** The SQL expression of a field; each call binds its own copy of any parameter it needs. */
  const column = (c: FilterCondition, spec: FieldSpec): (() => string) => {
    if (c.field === "age") {
      return () => {
        params.push(Number(today.slice(0, 4)), today.slice(5));
        return (
          "(CASE WHEN birthday GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' THEN " +
          "(? - CAST(substr(birthday, 1, 4) AS INTEGER) - (substr(birthday, 6, 5) > ?)) END)"
        );
      };
    }
    if (spec.column) {
      const name = spec.column;
      return () => name;
    }
    const path = `$."${c.field.slice("attributes.".length)}"`;
    return () => {
      params.push(path);
      return "json_extract(attributes, ?)";
    };
  };

  const leaf = (c: FilterCondition, negated: boolean): string => {
    const issues = conditionIssues(c);
    if (issues.length > 0) {
      throw new Error(`invalid filter condition: ${issues[0]?.path} ${issues[0]?.message}`);
    }
    const spec = fieldSpec(c.field) as FieldSpec;
    const col = column(c, spec);
    const norm = (v: Scalar) => (spec.kind === "timestamp" ? new Date(v as string).toISOString() : toSql(v));
    // neq / not_in / not_exists are the negations of eq / in / exists.
    const op = c.op;
    const flip = op === "neq" || op === "not_in" || op === "not_exists";
    const neg = negated !== flip;
    const base = op === "neq" ? "eq" : op === "not_in" ? "in" : op === "not_exists" ? "exists" : op;
    switch (base) {
      case "exists":
        return `${col()} IS ${neg ? "" : "NOT "}NULL`;
      case "in": {
        const list = JSON.stringify((c.value as Scalar[]).map(norm));
        if (!neg) {
          const expr = `${col()} IN (SELECT value FROM json_each(?))`;
          params.push(list);
          return expr;
        }
        const a = col();
        const b = col();
        params.push(list);
        return `(${a} IS NULL OR ${b} NOT IN (SELECT value FROM json_each(?)))`;
      }
      case "contains":
      case "starts_with": {
        const pattern = likePattern(c.value as string, base === "starts_with");
        if (!neg) {
          const expr = `${col()} LIKE ? ESCAPE '\\'`;
          params.push(pattern);
          return expr;
        }
        const a = col();
        const b = col();
        params.push(pattern);
        return `(${a} IS NULL OR ${b} NOT LIKE ? ESCAPE '\\')`;
      }
      default: {
        const cmp = base as keyof typeof SQL_OP;
        const value = norm(c.value as Scalar);
        if (!neg) {
          const expr = `${col()} ${SQL_OP[cmp]} ?`;
          params.push(value);
          return expr;
        }
        const a = col();
        const b = col();
        params.push(value);
        return `(${a} IS NULL OR ${b} ${OPPOSITE[cmp]} ?)`;
      }
    }
  };

  // Each part carries the height of its expression tree: SQLite refuses trees deeper than 100, and
  // 500 conditions joined in a row (`a OR b OR …`) are a 500-deep tree.
  const walk = (f: Filter, negated: boolean): Part => {
    if ("not" in f) return walk(f.not, !negated);
    if ("all" in f || "any" in f) {
      const parts = ("all" in f ? f.all : f.any).map((x) => walk(x, negated));
      // De Morgan: NOT (a AND b) = NOT a OR NOT b.
      const joiner = "all" in f !== negated ? " AND " : " OR ";
      if (parts.length === 0) return { sql: joiner === " AND " ? "1" : "0", height: 1 };
      return joinBalanced(parts, joiner);
    }
    return { sql: leaf(f, negated), height: LEAF_HEIGHT };
  };

  return { sql: walk(filter, false).sql, params };
}

/** Above this many parameters a compiled filter is packed into one (D1 binds at most 100 per query). */
export const MAX_DIRECT_PARAMS = 40;

/**
 * A compiled filter with at most `maxDirect` bound parameters: small filters are returned as they
 * are (their plain, index-friendly form); larger ones (up to 500 conditions, each binding one to
 * three values) bind one JSON array instead, each placeholder reading its own element. The
 * correlated `EXISTS` only names that array; every column still refers to the outer `contacts` row.
 *
 * @example packParams({sql: "city = ?", params: ["Austin"]}, 0)
 *   // { sql: "EXISTS (SELECT 1 FROM (SELECT ? AS hfp) WHERE city = hfp->>0)", params: ['["Austin"]'] }
 */
export function packParams(compiled: CompiledFilter, maxDirect: number = MAX_DIRECT_PARAMS): CompiledFilter {
  if (compiled.params.length <= maxDirect) return compiled;
  let i = 0;
  // `->>` with an integer reads that array element as an SQL value, exactly as json_extract does.
  const body = compiled.sql.replace(/\?/g, () => `hfp->>${i++}`);
  return {
    sql: `EXISTS (SELECT 1 FROM (SELECT ? AS hfp) WHERE ${body})`,
    params: [JSON.stringify(compiled.params)],
  };
}
