import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  dispatch,
  events,
  fakeTwilio,
  insertCarrier,
  insertContact,
  insertMessage,
  message,
  nextPhone,
  tenant,
} from "./fixtures";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("consent re-checked at dispatch (rule 1): a marketing message needs a contact's opt-in", () => {
  it("a queued marketing message without a contact ends suppressed / no_consent, and nobody is called", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    const { calls } = fakeTwilio();
    const id = await insertMessage(t.id, { category: "marketing", contactId: null });
    const result = await dispatch([id]);
    expect(result.explicitAcks).toEqual(result.deliveryIds);
    expect(await message(id)).toMatchObject({
      status: "suppressed",
      status_reason: "no_consent",
      attempts: 0,
    });
    expect(await events(id)).toEqual(["suppressed"]);
    expect(calls).toHaveLength(0);
  });

  it("so does one whose contact was erased after it was queued; an opted-in contact's and a transactional one go", async () => {
    const t = await tenant();
    await insertCarrier(t.id);
    const { calls } = fakeTwilio();
    const erasedPhone = nextPhone();
    const erased = await insertContact(t.id, erasedPhone);
    const orphan = await insertMessage(t.id, { to: erasedPhone, category: "marketing", contactId: erased });
    await env.DB.prepare("DELETE FROM contacts WHERE id = ?").bind(erased).run();
    const keptPhone = nextPhone();
    const kept = await insertMessage(t.id, {
      to: keptPhone,
      category: "marketing",
      contactId: await insertContact(t.id, keptPhone),
    });
    const code = await insertMessage(t.id, { contactId: null });
    await dispatch([orphan, kept, code]);
    expect(await message(orphan)).toMatchObject({ status: "suppressed", status_reason: "no_consent" });
    expect((await message(kept)).status).toBe("sent");
    expect((await message(code)).status).toBe("sent");
    expect(calls).toHaveLength(2);
    expect(calls.map((c) => c.form.get("To"))).not.toContain(erasedPhone);
  });
});
