/**
 * Fault injection at the binding boundary. `faultyEnv` wraps the real bindings of the test Worker
 * — D1, the queue producers and the rate-limiter Durable Object namespace — so that the Nth call to
 * one of them fails once. Herald's own functions are never stubbed: the code under test runs as it
 * does in production, only a platform call it makes throws.
 *
 * A "call" is one round trip to the platform:
 * - D1: `stmt.first/all/run/raw`, `db.batch`, `db.exec`;
 * - a queue producer: `send`, `sendBatch`;
 * - the rate limiter: one method call on a stub (an RPC), `stub.fetch` included.
 *
 * Two kinds of fault:
 * - `"before"`: the call throws and has no effect (the platform refused it, or the network dropped
 *   the request);
 * - `"after"`: the call takes effect, then throws (the answer was lost: D1 committed, the queue
 *   accepted the messages, the bucket took the tokens).
 *
 * Typical sweep: run a scenario once with `faultyEnv(env)` to count the calls (`calls.total`),
 * then run it again on fresh state for every k in 1..total with `{ nth: k }`, retry as the
 * platform would (HTTP client retry, queue redelivery, next cron tick), and compare the final
 * state with the fault-free one.
 *
 * Queue producers can also `capture` what is sent instead of forwarding it to the real queue, so a
 * test delivers batches itself through the real queue handler (`deliverCaptured`) in a known order.
 */
import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import type { Env } from "../../src/env";
import worker from "../../src/index";

export type FaultTarget =
  | "DB"
  | "DISPATCH_QUEUE"
  | "DISPATCH_DLQ"
  | "WORK_QUEUE"
  | "WORK_DLQ"
  | "RATE_LIMITER";

export const QUEUE_BINDINGS = ["DISPATCH_QUEUE", "DISPATCH_DLQ", "WORK_QUEUE", "WORK_DLQ"] as const;
type QueueBinding = (typeof QUEUE_BINDINGS)[number];

/** The queue name each producer binding sends to (wrangler.jsonc). */
export const QUEUE_NAMES: Record<QueueBinding, string> = {
  DISPATCH_QUEUE: "herald-dispatch",
  DISPATCH_DLQ: "herald-dispatch-dlq",
  WORK_QUEUE: "herald-work",
  WORK_DLQ: "herald-work-dlq",
};

export interface FaultOptions {
  /** Which binding fails; absent = every wrapped binding counts toward `nth` (a global call index). */
  target?: FaultTarget;
  /** 1-based index of the call (of `target`, or of all bindings) that fails; absent = no fault. */
  nth?: number;
  /**
   * `"before"` (default): the call has no effect; `"after"`: it takes effect, then throws;
   * `"hang"`: it never answers — the invocation making it is as good as killed (CPU limit, crash).
   */
  mode?: "before" | "after" | "hang";
  /**
   * Only D1 calls whose SQL and bound values (as text) satisfy this count toward `nth` (e.g. the
   * first statement naming one program's id). Implies `target: "DB"`.
   */
  match?: (sqlAndParams: string) => boolean;
  /** Record queue sends in `captured` instead of forwarding them to the real queues. */
  capture?: boolean;
}

export interface CapturedMessage {
  queue: string;
  body: unknown;
  delaySeconds?: number;
}

export interface FaultyEnv {
  env: Env;
  /** Calls made so far, per binding and in total. */
  calls: Record<FaultTarget, number> & { total: number };
  /** The call that failed, once it has: `{target, index}` (index = per-target, 1-based). */
  fired: { target: FaultTarget; index: number; total: number } | null;
  /** What was sent to the queues when `capture` is on, oldest first. Drained by `takeCaptured`. */
  captured: CapturedMessage[];
  takeCaptured(queue?: string): CapturedMessage[];
}

export class InjectedFault extends Error {
  constructor(target: FaultTarget, index: number) {
    super(`injected fault: ${target} call #${index}`);
    this.name = "InjectedFault";
  }
}

const RAW = Symbol("raw statement");
const TEXT = Symbol("statement text");
type Wrapped = D1PreparedStatement & { [RAW]: D1PreparedStatement; [TEXT]: string };

export function faultyEnv(base: Env, opts: FaultOptions = {}): FaultyEnv {
  const state: FaultyEnv = {
    env: base,
    calls: {
      DB: 0,
      DISPATCH_QUEUE: 0,
      DISPATCH_DLQ: 0,
      WORK_QUEUE: 0,
      WORK_DLQ: 0,
      RATE_LIMITER: 0,
      total: 0,
    },
    fired: null,
    captured: [],
    takeCaptured(queue) {
      const taken = state.captured.filter((m) => !queue || m.queue === queue);
      state.captured = state.captured.filter((m) => queue && m.queue !== queue);
      return taken;
    },
  };
  const mode = opts.mode ?? "before";

  let matched = 0;
  /** Counts one call of `target`; true when this is the call that must fail. */
  const count = (target: FaultTarget, text: string): boolean => {
    state.calls[target]++;
    state.calls.total++;
    if (state.fired || opts.nth === undefined) return false;
    if (opts.match) {
      if (target !== "DB" || !opts.match(text) || ++matched !== opts.nth) return false;
    } else {
      const index = opts.target ? state.calls[target] : state.calls.total;
      if ((opts.target && opts.target !== target) || index !== opts.nth) return false;
    }
    state.fired = { target, index: state.calls[target], total: state.calls.total };
    return true;
  };

  async function guarded<T>(target: FaultTarget, run: () => Promise<T>, text = ""): Promise<T> {
    const fail = count(target, text);
    if (fail && mode === "hang") return new Promise<T>(() => {});
    if (fail && mode === "before") throw new InjectedFault(target, state.calls[target]);
    const result = await run();
    if (fail) throw new InjectedFault(target, state.calls[target]);
    return result;
  }

  const wrapStatement = (stmt: D1PreparedStatement, text: string): Wrapped =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === RAW) return target;
        if (prop === TEXT) return text;
        if (prop === "bind")
          return (...args: unknown[]) =>
            wrapStatement(target.bind(...args), `${text} ${JSON.stringify(args)}`);
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
          return (...args: unknown[]) =>
            guarded(
              "DB",
              () => (target[prop] as (...a: unknown[]) => Promise<unknown>).apply(target, args),
              text,
            );
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as Wrapped;

  const db = new Proxy(base.DB, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql), sql);
      if (prop === "batch")
        return (stmts: D1PreparedStatement[]) =>
          guarded(
            "DB",
            () => target.batch(stmts.map((s) => (s as Wrapped)[RAW] ?? s)),
            stmts.map((s) => (s as Wrapped)[TEXT] ?? "").join("\n"),
          );
      if (prop === "exec") return (sql: string) => guarded("DB", () => target.exec(sql), sql);
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });

  const wrapQueue = (name: QueueBinding) => {
    const real = base[name] as Queue<unknown>;
    const queue = QUEUE_NAMES[name];
    return {
      send: (body: unknown, o?: QueueSendOptions) =>
        guarded(name, async () => {
          if (opts.capture) state.captured.push({ queue, body, delaySeconds: o?.delaySeconds });
          else await real.send(body, o);
        }),
      sendBatch: (msgs: Iterable<MessageSendRequest<unknown>>, o?: QueueSendBatchOptions) =>
        guarded(name, async () => {
          const list = [...msgs];
          if (opts.capture)
            for (const m of list)
              state.captured.push({ queue, body: m.body, delaySeconds: m.delaySeconds ?? o?.delaySeconds });
          else await real.sendBatch(list, o);
        }),
    } as unknown as Queue<unknown>;
  };

  const wrapStub = (stub: DurableObjectStub) =>
    new Proxy(stub, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (typeof value !== "function" || prop === "then") return value;
        return (...args: unknown[]) =>
          // Reflect.apply: an RPC method is a callable proxy, and `.apply` on it would be an RPC call named "apply".
          guarded("RATE_LIMITER", async () =>
            Reflect.apply(value as (...a: unknown[]) => unknown, target, args),
          );
      },
    });

  const limiter = new Proxy(base.RATE_LIMITER, {
    get(target, prop) {
      if (prop === "get" || prop === "getByName") {
        return (...args: unknown[]) =>
          wrapStub((target[prop] as (...a: unknown[]) => DurableObjectStub).apply(target, args));
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });

  state.env = {
    ...base,
    DB: db,
    RATE_LIMITER: limiter,
    ...Object.fromEntries(QUEUE_BINDINGS.map((q) => [q, wrapQueue(q)])),
  } as Env;
  return state;
}

/** One HTTP request through the real Worker `fetch` handler with the given env; waits for its `waitUntil` work. */
export async function fetchWith(env: Env, request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, env, ctx);
  await res.clone().arrayBuffer();
  await waitOnExecutionContext(ctx).catch(() => {});
  return res;
}

/** One cron tick through the real `scheduled` handler with the given env; resolves when the tick's work ended (errors included). */
export async function tickWith(env: Env, at: number = Date.now()): Promise<void> {
  const { createScheduledController } = await import("cloudflare:test");
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "* * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx).catch(() => {});
}

/**
 * Delivers messages to the real queue handler as one batch; returns what the handler decided
 * (acks, retries, explicit per-message outcomes). A handler that throws retries the whole batch, as
 * the platform does.
 */
export async function deliverWith(env: Env, queue: string, bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body, i) => ({
      id: `msg-${i}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts,
      body,
    })),
  );
  const ctx = createExecutionContext();
  let threw: unknown = null;
  try {
    await worker.queue(batch as MessageBatch<never>, env, ctx);
  } catch (err) {
    threw = err;
  }
  const result = await getQueueResult(batch, ctx);
  return { result, threw };
}
