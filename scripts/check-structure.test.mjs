// Unit tests of scripts/check-structure.mjs: `npm run test:scripts`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { findCycles, findD1Writes, parseImports, resolveSpecifier } from "./check-structure.mjs";

const graph = (edges) => {
  const g = new Map();
  for (const [from, tos] of Object.entries(edges)) g.set(from, new Set(tos));
  return g;
};

test("findCycles: none in a DAG", () => {
  assert.deepEqual(findCycles(graph({ a: ["b", "c"], b: ["c"], c: [] })), []);
});

test("findCycles: a two-file cycle, a longer one, a self-import", () => {
  const cycles = findCycles(graph({ a: ["b"], b: ["a"], c: ["d"], d: ["e"], e: ["c"], f: ["f"], g: ["a"] }));
  assert.deepEqual(cycles, [["f"], ["a", "b"], ["c", "d", "e"]]);
});

test("findCycles: every edge of a component shows in some cycle, each cycle once", () => {
  // a → b → c → a and b → a: two cycles sharing a → b.
  const cycles = findCycles(graph({ a: ["b"], b: ["c", "a"], c: ["a"] }));
  assert.deepEqual(cycles, [
    ["a", "b"],
    ["a", "b", "c"],
  ]);
});

test("parseImports: static, type-only, re-exports, dynamic and type-position imports", () => {
  const src = `
    import { a } from "./a";
    import type { B } from "./b";
    import c, {
      type D,
      e,
    } from "../c";
    import "./side-effect";
    export { f } from "./f";
    export type { G } from "./g";
    export * from "./h";
    export * as i from "./i";
    const j = await import("./j");
    type K = typeof import("./k");
    const meta = import.meta.url;
    const text = "import { x } from './not-an-import'";
    // import { y } from "./commented-out";
    /* export * from "./also-commented"; */
    export const z = 1;
  `;
  const got = parseImports(src).map((i) => `${i.specifier}${i.typeOnly ? " (type)" : ""}`);
  assert.deepEqual(got, [
    "./a",
    "./b (type)",
    "../c",
    "./side-effect",
    "./f",
    "./g (type)",
    "./h",
    "./i",
    "./j",
    "./k (type)",
  ]);
});

test("parseImports: a template literal or regex with quotes does not derail the tokenizer", () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test
  const src = "const q = `it's ${'\"'} ${`nested ${1}`}`;\nconst r = /\"/g;\nimport { a } from './a';\n";
  assert.deepEqual(
    parseImports(src).map((i) => i.specifier),
    ["./a"],
  );
});

test("resolveSpecifier: .ts, .js → .ts, a folder's index.ts; bare specifiers are not files", () => {
  const files = new Set(["/r/src/a.ts", "/r/src/dir/index.ts"]);
  const exists = (p) => files.has(p);
  assert.equal(resolveSpecifier("/r/src/x.ts", "./a", exists), "/r/src/a.ts");
  assert.equal(resolveSpecifier("/r/src/x.ts", "./a.js", exists), "/r/src/a.ts");
  assert.equal(resolveSpecifier("/r/src/sub/x.ts", "../dir", exists), "/r/src/dir/index.ts");
  assert.equal(resolveSpecifier("/r/src/x.ts", "hono", exists), null);
  assert.equal(resolveSpecifier("/r/src/x.ts", "./missing", exists), null);
});

test("findD1Writes: write SQL at the start of a statement, in strings and templates", () => {
  const src = [
    `db.prepare("INSERT INTO t (a) VALUES (?)");`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test
    "db.prepare(`\n  UPDATE ${table} SET a = ? WHERE id = ?`);",
    `db.prepare("SELECT 1; DELETE FROM t WHERE a = 1");`,
    `db.prepare("INSERT OR REPLACE INTO t (a) VALUES (1)");`,
    `db.prepare("REPLACE INTO t (a) VALUES (1)");`,
  ].join("\n");
  const { writes, reason } = findD1Writes(src);
  assert.deepEqual(
    writes.map((w) => w.line),
    [1, 2, 4, 5, 6],
  );
  assert.equal(reason, null);
});

test("findD1Writes: reads, lowercase words, HTTP methods and comments are not writes", () => {
  const src = [
    `db.prepare("SELECT * FROM t WHERE status = 'UPDATE'");`,
    `const method = "DELETE";`,
    `const msg = "update the row, then delete from the list";`,
    `db.prepare("SELECT 1 FROM t WHERE id IN (SELECT id FROM u)");`,
    `// INSERT INTO t VALUES (1)`,
    `/* DELETE FROM t */`,
  ].join("\n");
  assert.deepEqual(findD1Writes(src).writes, []);
});

test("findD1Writes: drizzle write builders on a db, not Map/Set/Headers .delete()", () => {
  const src = [
    "await ctx.db.insert(things).values(row).run();",
    "await tick.ctx.db\n  .update(programs)\n  .set({ a: 1 });",
    "await createDb(env.DB).delete(things).where(x);",
    "await tx.update(things).set({ a: 1 });",
    "cache.delete(key);",
    "headers.delete('x');",
    "seen.insert?.(1);",
  ].join("\n");
  assert.deepEqual(
    findD1Writes(src).writes.map((w) => `${w.line} ${w.what}`),
    ["1 drizzle db.insert(", "3 drizzle db.update(", "5 drizzle createDb().delete(", "6 drizzle tx.update("],
  );
});

test("findD1Writes: a leading `Writes D1:` line is the exemption, anywhere else it is not", () => {
  const exempt = `/**\n * Lease sweeps.\n * Writes D1: the tick owns its leases.\n */\nimport x from "./x";\ndb.prepare("DELETE FROM t");`;
  assert.equal(findD1Writes(exempt).reason, "the tick owns its leases.");
  const lineComments = `// Sweeps.\n// Writes D1: retention deletes old rows\nexport const a = 1;`;
  assert.equal(findD1Writes(lineComments).reason, "retention deletes old rows");
  const late = `import x from "./x";\n// Writes D1: too late\ndb.prepare("DELETE FROM t");`;
  assert.equal(findD1Writes(late).reason, null);
  const empty = `// Writes D1:\ndb.prepare("DELETE FROM t");`;
  assert.equal(findD1Writes(empty).reason, null);
});
