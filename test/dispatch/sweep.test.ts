import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { newId } from "../../src/lib/ids";
import { iso } from "../../src/lib/time";
import { sweepOutbox } from "../../src/pipeline/recovery/outbox";
import { events, fakeTwilio, insertMessage, message, tenant } from "./fixtures";

afterEach(() => {
  vi.restoreAllMocks();
});

const MIN = 60_000;

/** The sweep rings the real queue; its consumer then runs in the background (sandbox: delivered). */
async function eventually(id: string, statuses: string[], timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await message(id);
    if (statuses.includes(status) || Date.now() > until) return status;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function insertProgram(tenantId: string, status: "active" | "paused"): Promise<string> {
  const id = newId("program");
  const now = iso();
  await env.DB.prepare(
    `INSERT INTO programs (id, tenant_id, name, kind, category, template, trigger, trigger_type, exit_on, quiet_hours,
       validity_hours, status, created_at, updated_at)
     VALUES (?, ?, 'p', 'custom', 'transactional', 'Hi', '{"type":"manual"}', 'manual', '[]', 'ignore', 24, ?, ?, ?)`,
  )
    .bind(id, tenantId, status, now, now)
    .run();
  return id;
}

describe("sweepOutbox", () => {
  it("re-enqueues queued rows whose lease ran out 2+ minutes ago and leaves future or fresh leases alone", async () => {
    const t = await tenant();
    const now = Date.now();
    const lost = await insertMessage(t.id, { nextAttemptAt: iso(now - 5 * MIN) });
    const waitingForTokens = await insertMessage(t.id, { nextAttemptAt: iso(now + 10 * MIN) });
    const justEnqueued = await insertMessage(t.id, { nextAttemptAt: iso(now - MIN) });
    await sweepOutbox(env, now);
    // The lost one rang the doorbell again and was delivered (sandbox) by the real consumer.
    expect(await eventually(lost, ["delivered"])).toBe("delivered");
    expect(await message(waitingForTokens)).toMatchObject({
      status: "queued",
      next_attempt_at: iso(now + 10 * MIN),
    });
    expect(await message(justEnqueued)).toMatchObject({ status: "queued", next_attempt_at: iso(now - MIN) });
  });

  it("releases due scheduled rows and keeps future ones scheduled", async () => {
    const t = await tenant();
    const now = Date.now();
    const due = await insertMessage(t.id, {
      status: "scheduled",
      scheduledAt: iso(now - MIN),
      nextAttemptAt: null,
    });
    const later = await insertMessage(t.id, {
      status: "scheduled",
      scheduledAt: iso(now + 30 * MIN),
      nextAttemptAt: null,
    });
    await sweepOutbox(env, now);
    expect(await eventually(due, ["delivered"])).toBe("delivered");
    expect((await events(due))[0]).toBe("queued");
    expect((await message(later)).status).toBe("scheduled");
  });

  it("releases more due rows than one page in one tick, each queued and enqueued once", async () => {
    const t = await tenant();
    const now = Date.now();
    const n = 1_250; // three pages of the sweep
    await env.DB.prepare(
      `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?3)
       INSERT INTO messages (id, tenant_id, "to", body, body_hash, encoding, segments, characters, category,
         quiet_hours, status, scheduled_at, expires_at, created_at, updated_at)
       SELECT 'msg_sweep' || ?1 || i, ?1, '+1415' || (5550000 + i), 'Due ' || i, 'h', 'GSM-7', 1, 5, 'transactional',
         'ignore', 'scheduled', ?2, NULL, ?2, ?2 FROM seq`,
    )
      .bind(t.id, iso(now - MIN), n)
      .run();
    const enqueued: string[] = [];
    const sendBatch = env.DISPATCH_QUEUE.sendBatch.bind(env.DISPATCH_QUEUE);
    vi.spyOn(env.DISPATCH_QUEUE, "sendBatch").mockImplementation(async (batch, options) => {
      for (const m of batch) enqueued.push((m.body as { messageId: string }).messageId);
      return sendBatch(batch, options);
    });
    await sweepOutbox(env, now);
    const ours = enqueued.filter((id) => id.startsWith(`msg_sweep${t.id}`));
    expect(ours).toHaveLength(n);
    expect(new Set(ours).size).toBe(n);
    const counts = await env.DB.prepare(
      `SELECT (SELECT count(*) FROM messages WHERE tenant_id = ?1 AND status = 'scheduled') AS left,
              (SELECT count(*) FROM message_events WHERE tenant_id = ?1 AND status = 'queued') AS queued_events`,
    )
      .bind(t.id)
      .first<{ left: number; queued_events: number }>();
    expect(counts).toEqual({ left: 0, queued_events: n });
    // Not this test's subject: keep the real consumer from spending the next tests' time on them.
    await env.DB.prepare("UPDATE messages SET status = 'canceled' WHERE tenant_id = ? AND status = 'queued'")
      .bind(t.id)
      .run();
  });

  it("holds the scheduled and queued messages of a paused program until it resumes", async () => {
    const t = await tenant();
    const now = Date.now();
    const program = await insertProgram(t.id, "paused");
    const scheduled = await insertMessage(t.id, { status: "scheduled", scheduledAt: iso(now - MIN) });
    const queued = await insertMessage(t.id, { nextAttemptAt: iso(now - 5 * MIN) });
    await env.DB.prepare("UPDATE messages SET program_id = ? WHERE id IN (?, ?)")
      .bind(program, scheduled, queued)
      .run();
    await sweepOutbox(env, now);
    expect((await message(scheduled)).status).toBe("scheduled");
    expect(await message(queued)).toMatchObject({ status: "queued", next_attempt_at: iso(now - 5 * MIN) });
    await env.DB.prepare("UPDATE programs SET status = 'active' WHERE id = ?").bind(program).run();
    await sweepOutbox(env, now);
    expect(await eventually(scheduled, ["delivered"])).toBe("delivered");
    expect(await eventually(queued, ["delivered"])).toBe("delivered");
  });

  it("expires scheduled and queued rows whose validity ended", async () => {
    const t = await tenant();
    const now = Date.now();
    const s = await insertMessage(t.id, {
      status: "scheduled",
      scheduledAt: iso(now - 60 * MIN),
      expiresAt: iso(now - MIN),
    });
    const q = await insertMessage(t.id, { expiresAt: iso(now - MIN), nextAttemptAt: iso(now - 30 * MIN) });
    await sweepOutbox(env, now);
    expect(await message(s)).toMatchObject({ status: "expired" });
    expect(await message(q)).toMatchObject({ status: "expired" });
  });

  it("ends sending rows past validity as failed / unknown_outcome without calling the carrier", async () => {
    const t = await tenant();
    const { calls } = fakeTwilio();
    const now = Date.now();
    const stuck = await insertMessage(t.id, { status: "sending", attempts: 1, expiresAt: iso(now - MIN) });
    const inFlight = await insertMessage(t.id, {
      status: "sending",
      attempts: 1,
      expiresAt: iso(now + 60 * MIN),
    });
    await sweepOutbox(env, now);
    expect(await message(stuck)).toMatchObject({ status: "failed", status_reason: "unknown_outcome" });
    expect((await message(inFlight)).status).toBe("sending");
    expect(calls).toHaveLength(0);
  });
});
