import { describe, expect, it } from "vitest";
import type { ProgramRow } from "../../src/db/rows";
import { triggerKind } from "../../src/pipeline/scheduler/triggers";

const kindOf = (trigger: Record<string, unknown>) => triggerKind({ trigger } as Pick<ProgramRow, "trigger">);

describe("triggerKind: which part of the tick runs a program", () => {
  it.each([
    [{ type: "date", field: "birthday", offset_days: 0, at: "10:00" }, "birthdays"],
    [{ type: "date", field: "attributes.renewal", offset_days: -3, at: "10:00" }, "due_rows"],
    [{ type: "schedule", cron: "0 10 * * 1", timezone: "contact" }, "due_rows"],
    [{ type: "schedule", cron: "0 10 * * 1", timezone: "Europe/Berlin" }, "schedules"],
    [{ type: "event", event: "order.paid" }, null],
    [{ type: "manual" }, null],
  ])("%j → %s", (trigger, kind) => {
    expect(kindOf(trigger)).toBe(kind);
  });
});
