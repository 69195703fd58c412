/**
 * Fault sweeps of `POST /v1/programs/{id}/run` (with an Idempotency-Key) and of the outbound
 * webhook path (a Twilio `delivered` callback → `message.delivered` webhook → the receiver): every
 * binding call fails once (before / after it takes effect), the caller retries, the queue
 * redelivers, the ticks recover leases; the final state equals the fault-free one.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { insertOutboxMessage } from "../helpers/outbox";
import { newTenant, type TestTenant } from "../helpers/tenant";
import { apiRequest, createContact, createProgram, sendUntilAccepted, tenantMessages } from "./helpers";
import { faultSweep } from "./sweep";
import {
  fakeReceiver,
  type ReceivedWebhook,
  twilioDelivered,
  type WebhookTenant,
  webhookSetup,
} from "./webhook-helpers";

beforeEach(() => vi.useFakeTimers({ toFake: ["Date"] }));
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("fault sweep: POST /v1/programs/{id}/run with an Idempotency-Key", () => {
  it("every step failing once ends in the fault-free state: one message per contact, the run done", async () => {
    const report = await faultSweep<{ t: TestTenant; programId: string; answer?: string }>({
      async setup() {
        const t = await newTenant({ brand_name: "Northwind" });
        const programId = await createProgram(t, {
          name: "Holiday hours",
          kind: "custom",
          template: "Hi {{ contact.first_name }}, we open late on Dec 24.",
        });
        for (const [i, name] of ["Ada", "Grace", "Edsger"].entries())
          await createContact(t, { phone: `+1212555016${i}`, first_name: name });
        return { t, programId };
      },
      async run(p, s) {
        const sent = await sendUntilAccepted(p, () =>
          apiRequest(s.t.key, "POST", `/v1/programs/${s.programId}/run`, undefined, {
            "idempotency-key": "holiday-run",
          }),
        );
        expect(sent.status).toBe(202);
        s.answer = sent.body;
        await p.drainWork();
      },
      async snapshot(s) {
        const runs = await env.DB.prepare(
          "SELECT audience_count, cursor, completed_at IS NOT NULL AS done FROM program_runs WHERE tenant_id = ?",
        )
          .bind(s.t.id)
          .all();
        const answer = JSON.parse(s.answer ?? "{}") as { audience_count?: number };
        return {
          messages: (await tenantMessages(s.t.id)).map((m) => ({ status: m.status, body: m.body })),
          runs: runs.results,
          audience_count: answer.audience_count,
        };
      },
    });
    console.log(
      `run path: ${report.steps} steps, ${report.injected} faults [${report.stepTargets.join(" ")}]`,
    );
    expect(report.matched).toBe(report.injected);
  });
});

describe("fault sweep: outbound webhook (carrier callback → message.delivered → receiver)", () => {
  it("every step failing once ends with the webhook delivered, nothing pending, one webhook id", async () => {
    let received: ReceivedWebhook[] = [];
    let duplicatePosts = 0;
    const report = await faultSweep<{ w: WebhookTenant; messageId: string }>({
      async setup() {
        vi.restoreAllMocks();
        received = fakeReceiver();
        const w = await webhookSetup();
        const msg = await insertOutboxMessage(w.t.id, { carrierId: w.carrierId, status: "sent" });
        return { w, messageId: msg.id };
      },
      async run(p, s) {
        const sent = await sendUntilAccepted(p, () => twilioDelivered(s.w, s.messageId));
        expect(sent.status).toBe(204);
        await p.drainWork();
      },
      async snapshot(s) {
        const deliveries = await env.DB.prepare(
          "SELECT event_type, status, attempts, last_error FROM webhook_deliveries WHERE tenant_id = ?",
        )
          .bind(s.w.t.id)
          .all();
        const message = await env.DB.prepare("SELECT status FROM messages WHERE id = ?")
          .bind(s.messageId)
          .first<{ status: string }>();
        const mine = received.filter((r) => r.data.id === s.messageId);
        // At-least-once: when the record of a successful POST is lost, the same webhook id is sent again.
        duplicatePosts += mine.length - new Set(mine.map((r) => r.webhookId)).size;
        return {
          message: message?.status,
          deliveries: deliveries.results,
          webhookIds: new Set(mine.map((r) => r.webhookId)).size,
          types: [...new Set(mine.map((r) => `${r.type}:${r.data.status}`))],
        };
      },
    });
    console.log(
      `webhook path: ${report.steps} steps, ${report.injected} faults, ${duplicatePosts} repeated POSTs of one webhook id [${report.stepTargets.join(" ")}]`,
    );
    expect(report.matched).toBe(report.injected);
    expect(duplicatePosts).toBeLessThanOrEqual(1);
  });
});
