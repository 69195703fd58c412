/**
 * Fault sweep of the dispatch path (issue 9). A batch of queued messages goes through the real
 * `herald-dispatch` handler over a Twilio-shaped carrier double (fetch mocked at the HTTP boundary)
 * and the sandbox. A fault-free run counts the binding calls of that delivery; then, for every
 * call k and both modes, fresh messages are dispatched with call k failing once, and the test does
 * what the platform does — redelivers retried messages (attempts + 1, to the dead-letter queue past
 * max_retries), delivers what the handler sent again, runs the next tick with time past the leases,
 * and lets the carrier's status callback arrive — and the final state must equal the fault-free one:
 * every message delivered, one carrier call each (never two), attempts as without the fault,
 * nothing failed or stuck.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { twilioSign } from "../callbacks/helpers";
import { events, fakeTwilio, insertCarrier, insertMessage, message, tenant } from "../dispatch/fixtures";
import { call } from "../helpers/api";
import { deliverWith, type FaultyEnv, faultyEnv, tickWith } from "../helpers/faults";

afterEach(() => {
  vi.restoreAllMocks();
});

const MAX_RETRIES = 8; // wrangler.toml, herald-dispatch
const MIN = 60_000;

interface Scenario {
  ids: string[];
  twilio: Map<string, string>; // message id → carrier id
  /** Buckets to top up when a delayed re-send is delivered (its delay elapsed: the tokens are there). */
  buckets: { name: string; rate: number }[];
}

type Build = () => Promise<Scenario>;

/** Two messages over Twilio and two over the implicit sandbox (two tenants), one batch. */
const batchScenario: Build = async () => {
  const a = await tenant();
  const b = await tenant();
  const carrierId = await insertCarrier(a.id, { mps: 100 });
  const tw = [await insertMessage(a.id, { body: "order 1" }), await insertMessage(a.id, { body: "order 2" })];
  const sb = [await insertMessage(b.id, { body: "code 1" }), await insertMessage(b.id, { body: "code 2" })];
  return { ids: [...tw, ...sb], twilio: new Map(tw.map((id) => [id, carrierId])), buckets: [] };
};

/** Two messages over a Twilio pool of one segment per 5 s: the second waits for tokens (deferred). */
const deferScenario: Build = async () => {
  const a = await tenant();
  const carrierId = await insertCarrier(a.id, { mps: 0.2 });
  const tw = [await insertMessage(a.id, { body: "slow 1" }), await insertMessage(a.id, { body: "slow 2" })];
  return {
    ids: tw,
    twilio: new Map(tw.map((id) => [id, carrierId])),
    buckets: [{ name: `carrier:${carrierId}`, rate: 0.2 }],
  };
};

/** Carrier calls per message id (from the StatusCallback URL), and the sid the double answered. */
function carrierDouble() {
  const perMessage = new Map<string, number>();
  const sids = new Map<string, string>();
  fakeTwilio((c) => {
    const id = new URL(c.form.get("StatusCallback") ?? "https://x/").searchParams.get("message_id") ?? "?";
    perMessage.set(id, (perMessage.get(id) ?? 0) + 1);
    const sid = `SM${id
      .replace(/[^0-9a-f]/gi, "")
      .padEnd(32, "0")
      .slice(0, 32)}`;
    sids.set(id, sid);
    return { status: 201, body: { sid } };
  });
  return { perMessage, sids };
}

interface Final {
  status: string;
  status_reason: string | null;
  attempts: number;
  carrierCalls: number;
  events: string[];
}

/**
 * Runs the scenario with `fault` (none: a counting run) and behaves as the platform does until
 * nothing is left to deliver. Returns the binding calls of the first delivery and each message's end.
 */
async function run(
  build: Build,
  double: ReturnType<typeof carrierDouble>,
  fault?: { nth: number; mode: "before" | "after" },
): Promise<{ firstCalls: number; fired: FaultyEnv["fired"]; finals: Map<string, Final> }> {
  const s = await build();
  const f = faultyEnv(env, { ...fault, capture: true });
  const mine = new Set(s.ids);
  let pending: { body: { messageId: string }; attempts: number }[] = s.ids.map((messageId) => ({
    body: { messageId },
    attempts: 1,
  }));
  const dead: { messageId: string }[] = [];
  let firstCalls = -1;
  let ticks = 0;
  const resent = () =>
    f
      .takeCaptured("herald-dispatch")
      .map((c) => c.body as { messageId: string })
      .filter((b) => mine.has(b.messageId))
      .map((body) => ({ body, attempts: 1 }));
  for (let round = 0; round < 40; round++) {
    if (pending.length === 0 && dead.length === 0) {
      if (ticks >= 2) break;
      // The next cron tick, with time past every lease (and its 2-minute grace).
      ticks += 1;
      await tickWith(f.env, Date.now() + 10 * MIN);
      pending = resent();
      continue;
    }
    const next: typeof pending = [];
    for (const attempts of [...new Set(pending.map((p) => p.attempts))]) {
      const group = pending.filter((p) => p.attempts === attempts);
      const { result, threw } = await deliverWith(
        f.env,
        "herald-dispatch",
        group.map((p) => p.body),
        attempts,
      );
      if (firstCalls < 0) firstCalls = f.calls.total;
      const index = (m: string | { msgId: string }) =>
        Number((typeof m === "string" ? m : m.msgId).split("-")[1]);
      const acked = new Set(result.explicitAcks.map(index));
      const retried = new Set(result.retryMessages.map(index));
      group.forEach((p, i) => {
        const again =
          retried.has(i) || ((threw !== null || result.retryBatch.retry) && !acked.has(i) && !result.ackAll);
        if (!again) return;
        if (attempts > MAX_RETRIES) dead.push(p.body);
        else next.push({ body: p.body, attempts: attempts + 1 });
      });
    }
    if (dead.length > 0) await deliverWith(f.env, "herald-dispatch-dlq", dead.splice(0));
    const again = resent();
    // A re-send waited out its delay: the tokens it waited for are there now.
    if (again.length > 0)
      for (const b of s.buckets) await env.RATE_LIMITER.getByName(b.name).refund(b.rate, 1, Date.now());
    pending = [...next, ...again];
  }
  // The carrier's status callbacks arrive (Twilio: delivered), as they would after any send.
  for (const [id, carrierId] of s.twilio) {
    const sid = double.sids.get(id);
    if (!sid) continue;
    const path = `/callbacks/twilio/${carrierId}/status?message_id=${id}`;
    const params = {
      MessageSid: sid,
      MessageStatus: "delivered",
      AccountSid: "AC0123456789abcdef0123456789abcdef",
    };
    const res = await call("POST", path, {
      rawBody: new URLSearchParams(params).toString(),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": await twilioSign("secret-token", `https://herald.test${path}`, params),
      },
    });
    expect(res.status).toBeLessThan(300);
  }
  const finals = new Map<string, Final>();
  for (const id of s.ids) {
    const m = await message(id);
    finals.set(id, {
      status: m.status,
      status_reason: m.status_reason,
      attempts: m.attempts,
      carrierCalls: double.perMessage.get(id) ?? 0,
      events: await events(id),
    });
  }
  return { firstCalls, fired: f.fired, finals };
}

/** The fault-free end, per message in scenario order (ids differ between runs). */
const shape = (finals: Map<string, Final>) => [...finals.values()];

describe("fault sweep: the dispatch path", () => {
  it.each([
    ["batch over Twilio and the sandbox", batchScenario],
    ["a message waiting for tokens (deferred)", deferScenario],
  ])(
    "%s: a fault at every binding call, before or after it takes effect, ends exactly as without it",
    async (path, build) => {
      const double = carrierDouble();
      const clean = await run(build, double);
      const expected = shape(clean.finals);
      for (const f of expected) {
        expect(f.status).toBe("delivered");
        expect(f.carrierCalls).toBeLessThanOrEqual(1);
      }
      expect(clean.firstCalls).toBeGreaterThan(3);
      const mismatches: string[] = [];
      let injected = 0;
      for (let k = 1; k <= clean.firstCalls; k++) {
        for (const mode of ["before", "after"] as const) {
          const r = await run(build, double, { nth: k, mode });
          expect(r.fired, `call ${k} (${mode}) was made`).not.toBeNull();
          injected += 1;
          const got = shape(r.finals);
          if (JSON.stringify(got) !== JSON.stringify(expected))
            mismatches.push(
              `${r.fired?.target} call #${r.fired?.index} (global ${k}, ${mode}): ${JSON.stringify(got)}`,
            );
          for (const m of got) {
            expect(m.carrierCalls, "never two carrier calls for one message").toBeLessThanOrEqual(1);
            expect(m.status === "failed" && m.attempts === 0, "no failed without an attempt").toBe(false);
          }
        }
      }
      console.log(
        JSON.stringify({
          path,
          binding_calls: clean.firstCalls,
          faults_injected: injected,
          mismatches: mismatches.length,
        }),
      );
      expect(mismatches).toEqual([]);
    },
    180_000,
  );
});
