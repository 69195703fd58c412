import { analyzeSync, type Context, filters, Liquid, type Template, UndefinedVariableError } from "liquidjs";

interface FilterThis {
  context: Context;
}
type FilterHandler = (this: FilterThis, value: unknown, ...args: unknown[]) => unknown;

/** Roots a program template may name (PRODUCT.md, Programs → template). */
export const PROGRAM_TEMPLATE_ROOTS = ["contact", "event", "tenant", "program"] as const;

export type TemplateCheck = { ok: true } | { ok: false; message: string; line?: number; col?: number };

export interface RenderResult {
  body: string;
  /** Dotted paths the template prints that the scope could not fill (`contact.first_name`). */
  missing: string[];
}

/** Render-time global carrying the zone for `date`; no template can name it (roots are checked). */
const TZ_GLOBAL = "__herald_timezone";
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const FILE_TAGS = /\{%-?\s*(include|render|layout)\b/;

/**
 * `date` in the contact's zone: instants are shown in the render's IANA zone; a bare
 * `YYYY-MM-DD` is a calendar day and renders as that day whatever the zone.
 */
function zonedDate(this: FilterThis, value: unknown, format?: unknown, zone?: unknown) {
  const explicit = typeof zone === "string" || typeof zone === "number" ? zone : undefined;
  const globals = this.context.globals as Record<string, unknown> | undefined;
  const fallback = typeof globals?.[TZ_GLOBAL] === "string" ? (globals[TZ_GLOBAL] as string) : "UTC";
  const tz = explicit ?? (typeof value === "string" && DATE_ONLY.test(value) ? 0 : fallback);
  return (filters.date as unknown as FilterHandler).call(this, value, format, tz);
}

function makeEngine(strict: boolean): Liquid {
  const engine = new Liquid({
    strictFilters: true,
    strictVariables: strict,
    lenientIf: true,
    ownPropertyOnly: true,
    timezoneOffset: "UTC",
    // Bounded work per render: templates are tenant-written and run inside the request.
    renderLimit: 1_000,
    memoryLimit: 1_000_000,
    parseLimit: 100_000,
  });
  engine.registerFilter("date", zonedDate);
  return engine;
}

const lenient = makeEngine(false);
const strict = makeEngine(true);

const parseCache = new Map<string, Template[]>();
const PARSE_CACHE_MAX = 500;

function parseCached(source: string): Template[] {
  const hit = parseCache.get(source);
  if (hit) return hit;
  const parsed = lenient.parse(source);
  if (parseCache.size >= PARSE_CACHE_MAX) {
    const first = parseCache.keys().next().value;
    if (first !== undefined) parseCache.delete(first);
  }
  parseCache.set(source, parsed);
  return parsed;
}

interface Positioned {
  message: string;
  token?: { getPosition?: () => [number, number] };
}

function errorPosition(err: unknown): { line?: number; col?: number } {
  const pos = (err as Positioned | undefined)?.token?.getPosition?.();
  return pos ? { line: pos[0], col: pos[1] } : {};
}

/** The message without liquidjs's trailing ", line:1, col:4" (the position is returned apart). */
const cleanMessage = (message: string): string =>
  message.replace(/, line:\d+, col:\d+$/, "").split("\n")[0] ?? message;

/**
 * Checks a template at write time: it must parse, use only known tags and filters, and every
 * variable it reads must start with one of `allowedRoots`.
 *
 * @example validateTemplate("Hi {{ contact.first_name }}", ["contact"]) // { ok: true }
 * @example validateTemplate("Hi {{ user.name }}", ["contact"]) // { ok: false, message: "unknown variable root `user` …", line: 1, col: 7 }
 */
export function validateTemplate(source: string, allowedRoots: readonly string[]): TemplateCheck {
  if (source.trim().length === 0) return { ok: false, message: "must not be empty" };
  const fileTag = FILE_TAGS.exec(source);
  if (fileTag) {
    const before = source.slice(0, fileTag.index).split("\n");
    return {
      ok: false,
      message: `the ${fileTag[1]} tag is not available: templates cannot load other files`,
      line: before.length,
      col: (before.at(-1)?.length ?? 0) + 1,
    };
  }
  let parsed: Template[];
  try {
    parsed = parseCached(source);
  } catch (err) {
    return { ok: false, message: cleanMessage((err as Error).message), ...errorPosition(err) };
  }
  const analysis = analyzeSync(parsed);
  for (const [root, uses] of Object.entries(analysis.globals)) {
    if (allowedRoots.includes(root)) continue;
    const at = uses[0]?.location;
    return {
      ok: false,
      message: `unknown variable root \`${root}\`; templates can use ${allowedRoots.map((r) => `\`${r}\``).join(", ")}`,
      ...(at ? { line: at.row, col: at.col } : {}),
    };
  }
  return { ok: true };
}

/** Removes null/undefined values so that a null field counts as missing, like an absent one. */
function pruneNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pruneNulls);
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = pruneNulls(v);
    return out;
  }
  return value;
}

function staticPaths(parsed: Template[]): string[][] {
  const paths: string[][] = [];
  for (const uses of Object.values(analyzeSync(parsed).globals)) {
    for (const use of uses) {
      const path: string[] = [];
      for (const seg of use.segments) {
        if (typeof seg === "string" || typeof seg === "number") path.push(String(seg));
        else break;
      }
      paths.push(path);
    }
  }
  return paths;
}

/** Sets `path` to "" in `scope`, creating objects on the way (replacing non-objects). */
function fill(scope: Record<string, unknown>, path: string[]): void {
  let node: Record<string, unknown> = scope;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    const next = node[key];
    if (!next || typeof next !== "object") node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path.at(-1);
  if (last !== undefined) node[last] = "";
}

const MAX_MISSING = 20;

/**
 * Renders a template against a scope. Variables the template prints without a fallback
 * (`default`, `if`) and that the scope lacks (or holds as null) are reported in `missing`
 * and render as empty text; rendering itself never throws for them. `date` renders instants
 * in `timezone` (IANA; UTC when absent) and a bare `YYYY-MM-DD` as that calendar day.
 * Throws the liquidjs error for a template that does not parse (validate first).
 *
 * @example renderTemplate("Hi {{ contact.first_name | default: 'there' }}", { contact: {} }).body // "Hi there"
 */
export function renderTemplate(
  source: string,
  scope: Record<string, unknown>,
  options: { timezone?: string | null } = {},
): RenderResult {
  const parsed = parseCached(source);
  const globals = { [TZ_GLOBAL]: options.timezone || "UTC" };
  const pruned = pruneNulls(scope) as Record<string, unknown>;
  const missing: string[] = [];
  const probe = structuredClone(pruned);
  const paths = staticPaths(parsed);
  for (let round = 0; round < MAX_MISSING; round++) {
    try {
      strict.renderSync(parsed, probe, { globals });
      break;
    } catch (err) {
      if (!(err instanceof UndefinedVariableError)) throw err;
      const name = /undefined variable: ([^,]+)/.exec(err.message)?.[1]?.trim() ?? "";
      const prefix = name.split(".");
      const hits = paths.filter((p) => prefix.every((seg, i) => p[i] === seg));
      const targets = hits.length > 0 ? hits : [prefix];
      for (const p of targets) {
        const dotted = p.join(".");
        if (!missing.includes(dotted)) missing.push(dotted);
        fill(probe, p);
      }
    }
  }
  const body = lenient.renderSync(parsed, pruned, { globals }) as string;
  return { body, missing };
}

/** Whether a template source mentions STOP (then the opt-out footer is not added). */
export const mentionsStop = (text: string): boolean => /\bstop\b/i.test(text);
