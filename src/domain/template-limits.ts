import { type Context, type Liquid, toValue } from "liquidjs";

/**
 * Herald's bounds on tenant-written templates (PRODUCT.md, Messages and "input bounds").
 *
 * `performance.now()` and `Date.now()` do not advance during synchronous code on deployed Workers,
 * so every bound that matters counts operations: `maxSteps` bounds CPU (each tag, output, text node
 * and loop iteration rendered is one step) and `maxAllocated` bounds memory and output (characters
 * and elements allocated by ranges and filters, plus every character written to any output,
 * captures included). `maxMs` is a wall-clock backstop only.
 */
export const TEMPLATE_LIMITS = {
  /** A template's source, checked at write. */
  maxSourceChars: 2_000,
  /** A rendered body, opt-out footer included (Twilio's limit: 10 concatenated GSM-7 parts). */
  maxBodyChars: 1_600,
  /** Nodes rendered per render call (all probe rounds together). */
  maxSteps: 10_000,
  /** Characters and elements allocated or written per render call (all probe rounds together). */
  maxAllocated: 100_000,
  /** Wall-clock backstop; never relied on (it does not advance in synchronous code on Workers). */
  maxMs: 200,
} as const;

export type TemplateLimit = "steps" | "allocated" | "time";

/** The limits a RenderBudget enforces (TEMPLATE_LIMITS by default; tests use small ones). */
export interface RenderLimits {
  maxSteps: number;
  maxAllocated: number;
  maxMs: number;
}

/** A render stopped by one of Herald's limits. */
export class TemplateLimitError extends Error {
  readonly limit: TemplateLimit;
  constructor(limit: TemplateLimit, message: string) {
    super(message);
    this.name = "TemplateLimitError";
    this.limit = limit;
  }
}

/** Whether a body is longer than Herald sends (code points, as `characters` counts them). */
export function exceedsBodyLimit(body: string): boolean {
  if (body.length <= TEMPLATE_LIMITS.maxBodyChars) return false;
  return [...body].length > TEMPLATE_LIMITS.maxBodyChars;
}

/** Code points of a body (what the 1,600-character limit counts). */
export const bodyCharacters = (body: string): number => [...body].length;

/**
 * The work one render call may do, shared by every round of it. liquidjs calls
 * `renderLimit.check(now)` before rendering each node and `memoryLimit.use(n)` for each allocation;
 * this object stands in for both limiters and counts instead of (only) timing.
 */
export class RenderBudget {
  steps = 0;
  allocated = 0;
  /** The limit that stopped the render, kept so that liquidjs's error wrapping cannot hide it. */
  tripped: TemplateLimitError | null = null;
  private readonly deadline: number;

  constructor(
    private readonly limits: RenderLimits = TEMPLATE_LIMITS,
    now = Date.now(),
  ) {
    this.deadline = now + limits.maxMs;
  }

  private trip(limit: TemplateLimit, message: string): never {
    this.tripped ??= new TemplateLimitError(limit, message);
    throw this.tripped;
  }

  /** One node rendered. */
  step(): void {
    if (this.tripped) throw this.tripped;
    this.steps += 1;
    if (this.steps > this.limits.maxSteps)
      this.trip("steps", `takes more than ${this.limits.maxSteps.toLocaleString("en-US")} rendering steps`);
    if (Date.now() > this.deadline) this.trip("time", `takes longer than ${this.limits.maxMs} ms to render`);
  }

  /** `count` characters or elements allocated or written. */
  allocate(count: number): void {
    if (this.tripped) throw this.tripped;
    if (!(count > 0)) return;
    // Checked before it is counted: liquidjs charges before it allocates, so a refused charge never happens.
    if (this.allocated + count > this.limits.maxAllocated)
      this.trip(
        "allocated",
        `produces more than ${this.limits.maxAllocated.toLocaleString("en-US")} characters while rendering`,
      );
    this.allocated += count;
  }

  /** The two liquidjs limiters, backed by this budget (structurally liquidjs's `Limiter`). */
  limiters(): { renderLimit: Context["renderLimit"]; memoryLimit: Context["memoryLimit"] } {
    const renderLimit = { use: () => undefined, check: () => this.step() };
    const memoryLimit = { use: (n: number) => this.allocate(Number(n)), check: () => undefined };
    return {
      renderLimit: renderLimit as unknown as Context["renderLimit"],
      memoryLimit: memoryLimit as unknown as Context["memoryLimit"],
    };
  }
}

/** liquidjs's own stringify (not exported): what its emitters append for a value. */
function emitted(value: unknown): string {
  const v = toValue(value);
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.map(emitted).join("");
  return String(v);
}

/** An output buffer that charges every character written to the render's memory limit. */
class MeteredEmitter {
  buffer = "";
  constructor(private readonly ctx: Context) {}
  write(html: unknown): void {
    const text = emitted(html);
    this.ctx.memoryLimit.use(text.length);
    this.buffer += text;
  }
}

/**
 * Makes every output buffer of `engine` metered: the top-level one and those that tags open for
 * themselves (`capture`, `tablerow` …), which liquidjs creates when no emitter is passed. Output
 * that a template builds up (a capture doubling itself) is then charged as it grows, not after.
 */
export function meterEmitters(engine: Liquid): void {
  const renderer = engine.renderer;
  const renderTemplates = renderer.renderTemplates.bind(renderer);
  renderer.renderTemplates = (templates, ctx, emitter) =>
    renderTemplates(templates, ctx, emitter ?? new MeteredEmitter(ctx));
}
