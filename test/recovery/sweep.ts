/**
 * The fault sweep (issue 9, "Fault injection at the binding boundary"): run a path once without a
 * fault and count its binding calls (N); then, for every k in 1..N and both modes, on fresh state
 * (a new tenant), fail call k once, retry as the platform would, let the next ticks run with their
 * leases expired, and compare the final state with the fault-free one.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { faultyEnv } from "../helpers/faults";
import { DAY, NOON_NY, Platform, setClock } from "./helpers";

export interface PathScenario<S> {
  /** Fault-free setup on the real bindings: a new tenant and what the path needs. */
  setup(): Promise<S>;
  /** The path itself, retried as its caller would, then the queue deliveries it caused. */
  run(p: Platform, s: S): Promise<void>;
  /** The final state, in a tenant-independent shape. */
  snapshot(s: S, p: Platform): Promise<unknown>;
}

export interface SweepReport {
  /** Binding calls of the fault-free run (the path's steps). */
  steps: number;
  /** (step, mode) faults injected, each on fresh state. */
  injected: number;
  /** Which binding each step is, in order (e.g. `DB#3`), for the record. */
  stepTargets: string[];
  /** Runs whose final state matched the fault-free one. */
  matched: number;
}

let day = 0;
/** Each run starts at noon in New York on a later day: same quiet-hour position, time moves forward. */
const nextStart = (): number => NOON_NY + day++ * DAY;

export async function faultSweep<S>(scenario: PathScenario<S>): Promise<SweepReport> {
  const start = nextStart();
  setClock(start);
  const s0 = await scenario.setup();
  const p0 = new Platform(faultyEnv(env, { capture: true }), start);
  const trace: string[] = [];
  await scenario.run(p0, s0);
  const steps = p0.f.calls.total;
  await p0.settle();
  const expected = await scenario.snapshot(s0, p0);

  let injected = 0;
  let matched = 0;
  for (const mode of ["before", "after"] as const) {
    for (let k = 1; k <= steps; k++) {
      const at = nextStart();
      setClock(at);
      const s = await scenario.setup();
      const p = new Platform(faultyEnv(env, { nth: k, mode, capture: true }), at);
      await scenario.run(p, s);
      const fired = p.f.fired;
      expect(fired, `${mode} #${k}: the fault fired`).not.toBeNull();
      if (mode === "before") trace.push(`${fired?.target}#${fired?.index}`);
      await p.settle();
      injected += 1;
      const got = await scenario.snapshot(s, p);
      expect(got, `fault ${mode} call #${k} (${fired?.target}#${fired?.index})`).toEqual(expected);
      matched += 1;
    }
  }
  return { steps, injected, stepTargets: trace, matched };
}
