/**
 * `message.failed` webhooks of the dead-letter handler and of the tick's outbox sweep
 * (unknown_outcome) are written in the batch that fails the message (issue 9): whichever D1 or
 * queue call fails once (before or after it takes effect), after the platform's redelivery and the
 * next tick there is exactly one delivery, its payload the Message object as `GET /v1/messages/{id}`
 * shows it (without `events`). Before, the webhook was emitted after the failure committed, and a
 * fault there lost it for good (the redelivery finds the row no longer queued / sending).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_SEND_ATTEMPTS } from "../../src/domain/backoff";
import type { Env } from "../../src/env";
import { iso } from "../../src/lib/time";
import { insertMessage } from "../dispatch/fixtures";
import { deliverWith, faultyEnv, tickWith } from "../helpers/faults";
import { newTenant, type TestTenant } from "../helpers/tenant";

const MIN = 60_000;

async function listeningTenant(): Promise<TestTenant> {
  const t = await newTenant();
  const res = await t.api.post("/v1/webhook-endpoints", {
    url: "https://127.0.0.1:9/herald",
    events: ["message.failed"],
  });
  expect(res.status, res.text).toBe(201);
  return t;
}

/** The message.failed deliveries of this message: their payload's data. */
async function failedWebhooks(messageId: string): Promise<Record<string, unknown>[]> {
  const { results } = await env.DB.prepare(
    "SELECT payload FROM webhook_deliveries WHERE event_type = 'message.failed' AND dedupe_key = ?",
  )
    .bind(`message.failed:${messageId}`)
    .all<{ payload: string }>();
  return results.map((r) => (JSON.parse(r.payload) as { data: Record<string, unknown> }).data);
}

async function shown(t: TestTenant, messageId: string): Promise<Record<string, unknown>> {
  const res = await t.api.get<Record<string, unknown>>(`/v1/messages/${messageId}`);
  expect(res.status).toBe(200);
  const { events: _events, ...view } = res.body;
  return view;
}

/**
 * For every binding call of `act` (counted on a fault-free run), both modes: a fresh message, `act`
 * with that call failing once, `recover` as the platform would; then exactly one webhook, as shown.
 */
async function sweep(
  setup: (t: TestTenant) => Promise<string>,
  act: (e: Env, id: string) => Promise<void>,
  recover: (e: Env, id: string) => Promise<void>,
): Promise<number> {
  const t = await listeningTenant();
  const cleanId = await setup(t);
  const counter = faultyEnv(env, { capture: true });
  await act(counter.env, cleanId);
  const calls = counter.calls.total;
  expect(await failedWebhooks(cleanId)).toEqual([await shown(t, cleanId)]);
  const bad: string[] = [];
  let injected = 0;
  for (let k = 1; k <= calls; k++) {
    for (const mode of ["before", "after"] as const) {
      const id = await setup(t);
      const f = faultyEnv(env, { nth: k, mode, capture: true });
      await act(f.env, id);
      await recover(f.env, id);
      injected += 1;
      const got = await failedWebhooks(id);
      const view = await shown(t, id);
      if (view.status !== "failed" || JSON.stringify(got) !== JSON.stringify([view]))
        bad.push(`${f.fired?.target} #${f.fired?.index} (${mode}): ${view.status}, ${got.length} webhooks`);
    }
  }
  console.log(JSON.stringify({ binding_calls: calls, faults_injected: injected, mismatches: bad.length }));
  expect(bad).toEqual([]);
  return injected;
}

describe("message.failed written with the failure", () => {
  it("dead letter: a fault at any call still leaves exactly one webhook with the Message object", async () => {
    const dlq = (e: Env, id: string) =>
      deliverWith(e, "herald-dispatch-dlq", [{ messageId: id }]).then(() => undefined);
    const injected = await sweep(
      (t) => insertMessage(t.id, { attempts: MAX_SEND_ATTEMPTS, errorCode: "20500" }),
      dlq,
      // The handler threw: the queue delivers the dead letter again.
      dlq,
    );
    expect(injected).toBeGreaterThanOrEqual(4);
  });

  it("outbox sweep (unknown_outcome): a fault at any call still leaves exactly one webhook with the Message object", async () => {
    const tick = (e: Env) => tickWith(e, Date.now());
    const injected = await sweep(
      (t) =>
        insertMessage(t.id, {
          status: "sending",
          attempts: 1,
          expiresAt: iso(Date.now() - MIN),
        }),
      tick,
      // The next tick.
      (e) => tickWith(e, Date.now() + MIN),
    );
    expect(injected).toBeGreaterThanOrEqual(4);
  }, 120_000);
});
