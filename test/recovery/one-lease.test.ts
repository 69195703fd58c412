import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LEASE_MS } from "../../src/domain/rules/lease";
import { sweepOutbox } from "../../src/pipeline/recovery/outbox";
import { serviceContext } from "../../src/services/context";
import { createMessages } from "../../src/services/messages/create";
import { message, nextPhone, tenant } from "../dispatch/fixtures";
import { faultyEnv } from "../helpers/faults";

/**
 * One lease (rule 9's 2 minutes): a message created now is due now, and its doorbell, if lost, is
 * rung again by the first sweep more than 2 minutes later — not 2 minutes of lease plus 2 of grace.
 */
describe("one lease", () => {
  it("rings a created message whose doorbell was lost once it is 2 minutes overdue, not before", async () => {
    const t = await tenant();
    // The doorbell is lost: the queue send is captured, never delivered.
    const f = faultyEnv(env, { capture: true });
    const [created] = await createMessages(serviceContext(f.env, t.id), [
      {
        to: nextPhone(),
        contactId: null,
        body: "Your code is 4242",
        category: "transactional",
        quietHours: "ignore",
        validityHours: 24,
      },
    ]);
    const id = created?.message.id ?? "";
    expect(f.takeCaptured("herald-dispatch")).toHaveLength(1);
    const createdAt = Date.parse(created?.message.createdAt ?? "");

    const sweeps = faultyEnv(env, { capture: true });
    await sweepOutbox(sweeps.env, createdAt + LEASE_MS - 1_000);
    expect(sweeps.takeCaptured("herald-dispatch")).toHaveLength(0);
    expect((await message(id)).status).toBe("queued");

    await sweepOutbox(sweeps.env, createdAt + LEASE_MS + 1_000);
    expect(sweeps.takeCaptured("herald-dispatch").map((m) => m.body)).toEqual([{ messageId: id }]);
  });
});
