import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { faultyEnv, InjectedFault } from "../helpers/faults";

describe("fault harness (wraps real bindings only)", () => {
  it("counts D1 calls and fails the chosen one once, before it takes effect", async () => {
    await env.DB.exec("CREATE TABLE IF NOT EXISTS fault_probe (v INTEGER)");
    const f = faultyEnv(env, { target: "DB", nth: 2 });
    await f.env.DB.prepare("INSERT INTO fault_probe (v) VALUES (?)").bind(1).run();
    await expect(
      f.env.DB.prepare("INSERT INTO fault_probe (v) VALUES (?)").bind(2).run(),
    ).rejects.toBeInstanceOf(InjectedFault);
    await f.env.DB.batch([f.env.DB.prepare("INSERT INTO fault_probe (v) VALUES (3)")]);
    const rows = await env.DB.prepare("SELECT v FROM fault_probe ORDER BY v").all<{ v: number }>();
    expect(rows.results.map((r) => r.v)).toEqual([1, 3]);
    expect(f.calls.DB).toBe(3);
    expect(f.fired).toMatchObject({ target: "DB", index: 2 });
  });

  it("an 'after' fault takes effect and then throws (the answer is lost)", async () => {
    await env.DB.exec("CREATE TABLE IF NOT EXISTS fault_probe2 (v INTEGER)");
    const f = faultyEnv(env, { target: "DB", nth: 1, mode: "after" });
    await expect(
      f.env.DB.batch([f.env.DB.prepare("INSERT INTO fault_probe2 (v) VALUES (7)")]),
    ).rejects.toThrow(/injected fault/);
    const row = await env.DB.prepare("SELECT count(*) AS n FROM fault_probe2").first<{ n: number }>();
    expect(row?.n).toBe(1);
  });

  it("captures queue sends and fails one, and counts rate-limiter RPCs", async () => {
    const f = faultyEnv(env, { target: "WORK_QUEUE", nth: 2, capture: true });
    await f.env.WORK_QUEUE.send({ kind: "a" } as never);
    await expect(f.env.WORK_QUEUE.sendBatch([{ body: { kind: "b" } as never }])).rejects.toThrow(/injected/);
    await f.env.WORK_QUEUE.sendBatch([{ body: { kind: "c" } as never, delaySeconds: 5 }]);
    expect(f.takeCaptured("herald-work")).toEqual([
      { queue: "herald-work", body: { kind: "a" }, delaySeconds: undefined },
      { queue: "herald-work", body: { kind: "c" }, delaySeconds: 5 },
    ]);
    expect(f.captured).toEqual([]);

    const g = faultyEnv(env, { target: "RATE_LIMITER", nth: 1 });
    const stub = g.env.RATE_LIMITER.get(g.env.RATE_LIMITER.idFromName("probe"));
    await expect(
      (stub as unknown as { fetch(u: string): Promise<Response> }).fetch("https://x/"),
    ).rejects.toThrow(/injected/);
    expect(g.calls.RATE_LIMITER).toBe(1);
  });
});
