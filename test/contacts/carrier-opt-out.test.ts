import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { carrierOptOutStatements } from "../../src/services/contacts/carrier-opt-out";
import { isPhoneSuppressed } from "../../src/services/contacts/consent";
import { serviceContext } from "../../src/services/context";
import { writtenDeliveries } from "../../src/services/webhooks/in-batch";
import { newTenant } from "../helpers/tenant";

const PHONE = "+12125550177";

async function setup() {
  const t = await newTenant();
  const created = await t.api.post("/v1/contacts", { phone: PHONE });
  expect(created.status, created.text).toBe(201);
  const hook = await t.api.post("/v1/webhook-endpoints", {
    url: "https://127.0.0.1:9/herald",
    events: ["contact.unsubscribed"],
  });
  expect(hook.status, hook.text).toBe(201);
  return { t, ctx: serviceContext(env, t.id) };
}

const count = async (sql: string, tenantId: string) =>
  (await env.DB.prepare(sql).bind(tenantId).first<{ n: number }>())?.n ?? 0;
const hooks = (tenantId: string) =>
  count(
    "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE tenant_id = ? AND event_type = 'contact.unsubscribed'",
    tenantId,
  );
const records = (tenantId: string) =>
  count("SELECT COUNT(*) AS n FROM consent_records WHERE tenant_id = ? AND source = 'carrier'", tenantId);

describe("carrierOptOutStatements", () => {
  it("unsubscribes the phone with its consent record and one contact.unsubscribed delivery; the indexes count from `offset`", async () => {
    const { t, ctx } = await setup();
    const at = new Date().toISOString();
    const before = env.DB.prepare("SELECT 1");
    const { statements, webhookIndexes } = await carrierOptOutStatements(
      ctx,
      { phone: PHONE, text: "twilio error 21610: Unsubscribed recipient", at },
      { offset: 1 },
    );
    expect(webhookIndexes).toEqual([1]);
    const results = await env.DB.batch([before, ...statements]);
    expect(writtenDeliveries(results, webhookIndexes)).toHaveLength(1);
    expect(await isPhoneSuppressed(ctx, PHONE)).toBe(true);
    expect(await records(t.id)).toBe(1);

    // A second opt-out changes nothing: no second webhook (consentWouldChange), one more record.
    const again = await carrierOptOutStatements(ctx, {
      phone: PHONE,
      text: "again",
      at: new Date().toISOString(),
    });
    const second = await env.DB.batch(again.statements);
    expect(writtenDeliveries(second, again.webhookIndexes)).toHaveLength(0);
    expect(await hooks(t.id)).toBe(1);
    expect(await records(t.id)).toBe(2);
  });

  it("`once`: a batch written again (dispatch's idempotent write) records nothing twice; `webhook: false` writes no delivery", async () => {
    const { t, ctx } = await setup();
    const optOut = { phone: PHONE, text: "Recipient opted out", at: new Date().toISOString() };
    const first = await carrierOptOutStatements(ctx, optOut, { once: true });
    await env.DB.batch(first.statements);
    const rewrite = await carrierOptOutStatements(ctx, optOut, { once: true });
    await env.DB.batch(rewrite.statements);
    expect(await records(t.id)).toBe(1);
    expect(await hooks(t.id)).toBe(1);

    const quiet = await carrierOptOutStatements(
      ctx,
      { ...optOut, phone: "+12125550178" },
      { webhook: false },
    );
    expect(quiet.webhookIndexes).toEqual([]);
    await env.DB.batch(quiet.statements);
    expect(await isPhoneSuppressed(ctx, "+12125550178")).toBe(true);
    expect(await hooks(t.id)).toBe(1);
  });
});
