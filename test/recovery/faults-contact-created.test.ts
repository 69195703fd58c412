/**
 * Fault sweep of the contact-creation path (`POST /v1/contacts` → `contact.created` → welcome
 * message): every binding call fails once, before or after it takes effect; the client retries with
 * the same Idempotency-Key; the ticks run with leases expired. The contact ends with exactly one
 * welcome message, as without the fault — even when the insert committed and its trigger work died
 * (the retry then answers 200 "updated", and the creation's work is finished by that retry or by
 * the scheduler's sweep).
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { faultyEnv } from "../helpers/faults";
import { newTenant, type TestTenant } from "../helpers/tenant";
import {
  apiRequest,
  countRows,
  createProgram,
  MIN,
  NOON_NY,
  Platform,
  sendUntilAccepted,
  setClock,
  tenantMessages,
} from "./helpers";
import { faultSweep } from "./sweep";

beforeEach(() => vi.useFakeTimers({ toFake: ["Date"] }));
afterEach(() => vi.useRealTimers());

const createMaya = (t: TestTenant) => () =>
  apiRequest(
    t.key,
    "POST",
    "/v1/contacts",
    { phone: "+15125550142", first_name: "Maya" },
    { "idempotency-key": "signup-maya" },
  );

describe("contact.created survives a crash between the insert and its trigger", () => {
  it("the insert commits, the program lookup fails: the retry (200 updated) still sends the welcome, once", async () => {
    setClock(NOON_NY);
    const t = await newTenant({ brand_name: "Northwind" });
    await createProgram(t, { name: "Welcome", kind: "welcome" });
    // D1 calls of POST /v1/contacts: key lookup, idempotency claim, reads, the contact batch, then
    // contact.created's due refresh and program lookup. Fail the first call after the batch.
    const probe = new Platform(faultyEnv(env, { capture: true }), NOON_NY);
    await sendUntilAccepted(probe, () =>
      apiRequest(t.key, "POST", "/v1/contacts", { phone: "+15125550199" }),
    );
    const dbCalls = probe.f.calls.DB;
    expect(dbCalls).toBeGreaterThan(4);
    let sentWelcome = false;
    for (let k = 3; k <= dbCalls && !sentWelcome; k++) {
      const u = await newTenant({ brand_name: "Northwind" });
      await createProgram(u, { name: "Welcome", kind: "welcome" });
      const p = new Platform(faultyEnv(env, { target: "DB", nth: k, capture: true }), NOON_NY);
      const first = await sendUntilAccepted(p, createMaya(u), 1);
      const contactExists = (await countRows("contacts", u.id)) === 1;
      if (first.status < 500 || !contactExists) continue;
      // The case of the defect: the contact row committed, its creation's work did not.
      expect(await tenantMessages(u.id)).toEqual([]);
      p.advance(61_000);
      const retry = await sendUntilAccepted(p, createMaya(u));
      expect(retry.status).toBe(200);
      await p.settle();
      expect((await tenantMessages(u.id)).map((m) => m.status)).toEqual(["queued"]);
      sentWelcome = true;
    }
    expect(sentWelcome, "some fault leaves the contact without its creation's work").toBe(true);
  });

  it("with no retry at all, the scheduler's sweep finishes the creation's work", async () => {
    setClock(NOON_NY);
    const t = await newTenant({ brand_name: "Northwind" });
    await createProgram(t, { name: "Welcome", kind: "welcome" });
    await env.DB.prepare(
      `INSERT INTO contacts (id, tenant_id, phone, first_name, attributes, subscribed, marketing_opt_in, created_at, updated_at)
       VALUES ('ct_orphan_created', ?, '+15125550143', 'Ana', '{}', 1, 1, ?, ?)`,
    )
      .bind(t.id, new Date(NOON_NY).toISOString(), new Date(NOON_NY).toISOString())
      .run();
    const p = new Platform(faultyEnv(env, { capture: true }), NOON_NY + MIN);
    await p.settle(1, MIN); // 2 minutes after creation: still inside the grace, left alone.
    expect(await tenantMessages(t.id)).toEqual([]);
    await p.settle(1, 2 * MIN);
    expect((await tenantMessages(t.id)).map((m) => m.status)).toEqual(["queued"]);
    await p.settle(2, 6 * MIN);
    expect(await tenantMessages(t.id)).toHaveLength(1);
  });
});

describe("fault sweep: POST /v1/contacts with a welcome program", () => {
  it("every step failing once ends in the fault-free state", async () => {
    const report = await faultSweep<{ t: TestTenant }>({
      async setup() {
        const t = await newTenant({ brand_name: "Northwind" });
        await createProgram(t, { name: "Welcome", kind: "welcome" });
        return { t };
      },
      async run(p, s) {
        const sent = await sendUntilAccepted(p, createMaya(s.t));
        expect([200, 201]).toContain(sent.status);
      },
      snapshot: async (s) => ({
        contacts: await countRows("contacts", s.t.id),
        messages: (await tenantMessages(s.t.id)).map((m) => ({ status: m.status, body: m.body })),
        unfinished: await countRows("contacts", s.t.id, "created_fired_at IS NULL"),
      }),
    });
    console.log(`contact-created path: ${report.steps} steps, ${report.injected} faults`);
    expect(report.steps).toBeGreaterThan(5);
    expect(report.matched).toBe(report.injected);
  });
});
