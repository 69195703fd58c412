import { afterEach, describe, expect, it, vi } from "vitest";
import { runTickParts } from "../../src/pipeline/scheduler/parts";
import { programWindowStart } from "../../src/pipeline/scheduler/window";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("runTickParts", () => {
  it("runs every part in order; one that throws is logged and the rest still run", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const ran: string[] = [];
    const failed = await runTickParts([
      { name: "outbox_sweep", run: async () => void ran.push("outbox_sweep") },
      {
        name: "programs",
        run: async () => {
          ran.push("programs");
          throw new Error("D1 is down");
        },
      },
      { name: "purge", run: async () => void ran.push("purge") },
    ]);
    expect(ran).toEqual(["outbox_sweep", "programs", "purge"]);
    expect(failed).toEqual(["programs"]);
    expect(errors).toHaveBeenCalledTimes(1);
    expect(JSON.parse(errors.mock.calls[0]?.[0] as string)).toMatchObject({
      level: "error",
      part: "programs",
      error: "D1 is down",
    });
  });
});

describe("programWindowStart", () => {
  it("is the shared start, or the older one a program still owes", () => {
    expect(programWindowStart(1_000, undefined)).toBe(1_000);
    expect(programWindowStart(1_000, 400)).toBe(400);
    expect(programWindowStart(1_000, 2_000)).toBe(1_000);
  });
});
