import {
  analyzeSync,
  Context,
  filters,
  Liquid,
  Tag,
  type TagToken,
  type Template,
  type TopLevelToken,
  UndefinedVariableError,
} from "liquidjs";
import {
  bodyCharacters,
  exceedsBodyLimit,
  meterEmitters,
  RenderBudget,
  TEMPLATE_LIMITS,
  TemplateLimitError,
} from "./template-limits";

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
/** Tags that load other files: refused wherever they appear, `{% liquid %}` blocks included. */
const FILE_TAGS = ["include", "render", "layout"] as const;

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

/** Parsing one of `FILE_TAGS` fails with this message (and liquidjs adds the tag's position). */
class RefusedFileTag extends Tag {
  constructor(token: TagToken, remainTokens: TopLevelToken[], liquid: Liquid) {
    super(token, remainTokens, liquid);
    throw new Error(`the ${token.name} tag is not available: templates cannot load other files`);
  }
  render(): void {}
}

function makeEngine(): Liquid {
  const engine = new Liquid({
    strictFilters: true,
    lenientIf: true,
    ownPropertyOnly: true,
    timezoneOffset: "UTC",
    // Each render gets a RenderBudget in place of these (see renderTemplate); they only cover
    // a render that is not given one.
    renderLimit: TEMPLATE_LIMITS.maxMs,
    memoryLimit: TEMPLATE_LIMITS.maxAllocated,
    parseLimit: TEMPLATE_LIMITS.maxSourceChars * 2,
  });
  engine.registerFilter("date", zonedDate);
  for (const tag of FILE_TAGS) engine.registerTag(tag, RefusedFileTag);
  meterEmitters(engine);
  return engine;
}

const engine = makeEngine();

const parseCache = new Map<string, Template[]>();
const PARSE_CACHE_MAX = 500;

function parseCached(source: string): Template[] {
  const hit = parseCache.get(source);
  if (hit) return hit;
  const parsed = engine.parse(source);
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
 * Checks a template at write time: at most 2,000 characters, it must parse, use only known tags
 * and filters (no file tags), every variable it reads must start with one of `allowedRoots`, and
 * a trial render with empty data (each root an empty object) must stay within Herald's limits
 * and the 1,600-character body.
 *
 * @example validateTemplate("Hi {{ contact.first_name }}", ["contact"]) // { ok: true }
 * @example validateTemplate("Hi {{ user.name }}", ["contact"]) // { ok: false, message: "unknown variable root `user` …", line: 1, col: 7 }
 */
export function validateTemplate(source: string, allowedRoots: readonly string[]): TemplateCheck {
  if (source.trim().length === 0) return { ok: false, message: "must not be empty" };
  if (source.length > TEMPLATE_LIMITS.maxSourceChars)
    return {
      ok: false,
      message: `must be at most ${TEMPLATE_LIMITS.maxSourceChars.toLocaleString("en-US")} characters`,
    };
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
  const trial = renderBody(source, Object.fromEntries(allowedRoots.map((r) => [r, {}])));
  if (!trial.ok) return { ok: false, message: `trial render with empty data: ${trial.error}` };
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

/** One bounded render of `parsed`: the budget's limiters replace liquidjs's own. */
function renderOnce(
  parsed: Template[],
  scope: Record<string, unknown>,
  options: { globals: Record<string, unknown>; strict: boolean; budget: RenderBudget },
): string {
  const ctx = new Context(
    scope,
    engine.options,
    { sync: true, globals: options.globals, strictVariables: options.strict },
    { liquid: engine, ...options.budget.limiters() },
  );
  try {
    return engine.renderSync(parsed, ctx) as string;
  } catch (err) {
    // liquidjs wraps what a limiter throws in a RenderError: the budget knows what tripped.
    throw options.budget.tripped ?? err;
  }
}

/**
 * Renders a template against a scope. Variables the template prints without a fallback
 * (`default`, `if`) and that the scope lacks (or holds as null) are reported in `missing`
 * and render as empty text; rendering itself never throws for them. `date` renders instants
 * in `timezone` (IANA; UTC when absent) and a bare `YYYY-MM-DD` as that calendar day.
 * All rounds of one call share one `RenderBudget` (TEMPLATE_LIMITS): past it, throws
 * `TemplateLimitError`. Throws the liquidjs error for a template that does not parse (validate
 * first) or fails while rendering.
 *
 * @example renderTemplate("Hi {{ contact.first_name | default: 'there' }}", { contact: {} }).body // "Hi there"
 */
export function renderTemplate(
  source: string,
  scope: Record<string, unknown>,
  options: { timezone?: string | null; budget?: RenderBudget } = {},
): RenderResult {
  const parsed = parseCached(source);
  const budget = options.budget ?? new RenderBudget();
  const globals = { [TZ_GLOBAL]: options.timezone || "UTC" };
  const pruned = pruneNulls(scope) as Record<string, unknown>;
  const missing: string[] = [];
  const probe = structuredClone(pruned);
  const paths = staticPaths(parsed);
  for (let round = 0; round < MAX_MISSING; round++) {
    try {
      renderOnce(parsed, probe, { globals, strict: true, budget });
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
  const body = renderOnce(parsed, pruned, { globals, strict: false, budget });
  return { body, missing };
}

export type BodyRender = { ok: true; body: string; missing: string[] } | { ok: false; error: string };

/**
 * A message body from a template, never throwing: the trimmed render, or why there is none —
 * the template does not render, it goes past Herald's limits (steps, characters produced, time),
 * or the body is over 1,600 characters. Callers add the opt-out footer and check the total with
 * `exceedsBodyLimit`.
 *
 * @example renderBody("{% for i in (1..3000000) %}{% endfor %}hi", {}) // { ok: false, error: "produces more than 100,000 characters while rendering" }
 */
export function renderBody(
  source: string,
  scope: Record<string, unknown>,
  options: { timezone?: string | null } = {},
): BodyRender {
  let rendered: RenderResult;
  try {
    rendered = renderTemplate(source, scope, options);
  } catch (err) {
    if (err instanceof TemplateLimitError)
      return { ok: false, error: `exceeds Herald's limits: ${err.message}` };
    return { ok: false, error: `does not render: ${cleanMessage(String((err as Error)?.message ?? err))}` };
  }
  const body = rendered.body.trim();
  if (exceedsBodyLimit(body))
    return {
      ok: false,
      error: `renders to ${bodyCharacters(body).toLocaleString("en-US")} characters; a message is at most ${TEMPLATE_LIMITS.maxBodyChars.toLocaleString("en-US")}`,
    };
  return { ok: true, body, missing: rendered.missing };
}

/** Whether a template source mentions STOP (then the opt-out footer is not added). */
export const mentionsStop = (text: string): boolean => /\bstop\b/i.test(text);
