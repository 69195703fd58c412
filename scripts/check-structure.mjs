// `npm run check:structure`: structural rules for src/ that neither TypeScript nor Biome checks.
// Fails (exit 1, each offender listed) when
//   1. a file in src/ has more than 400 lines;
//   2. src/ files import each other in a cycle (type-only imports, `export ... from` and dynamic or
//      type-position `import("...")` included);
//   3. a file outside src/services/ writes D1: write SQL (INSERT INTO, UPDATE ... SET, DELETE FROM,
//      REPLACE INTO at the start of a statement) in a string or template literal, or a drizzle write
//      builder (`db.insert(`, `tx.update(`, `createDb(d1).delete(`), unless the comment block the
//      file starts with has a line `Writes D1: <why>`.
// Plain node, no dependencies: a small tokenizer (comments, strings, templates, regex literals), not
// a TypeScript parser, so a construct it misreads can be a false positive; say so rather than bend
// the code. The exports are unit-tested in scripts/check-structure.test.mjs (`npm run test:scripts`).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const MAX_LINES = 400;
/** What a template's `${...}` reads as in its token's text. */
export const HOLE = "<expr>";

// ---------------------------------------------------------------------------------------------
// Tokenizer

/**
 * Tokens of a TS/JS source: `{ kind: "id" | "punct" | "string" | "template", value, line }`.
 * Comments are dropped (the leading ones are returned separately); a template's value is its text
 * with each `${...}` replaced by HOLE (the expressions inside are tokenized as code).
 */
export function tokenize(src) {
  const tokens = [];
  const leading = [];
  let i = 0;
  let line = 1;
  /** Brace depth at which each open template's `${` started; the top is the innermost. */
  const templateStack = [];
  let braceDepth = 0;
  const prevSignificant = () => tokens[tokens.length - 1];
  const regexAllowed = () => {
    const p = prevSignificant();
    if (!p) return true;
    if (p.kind === "string" || p.kind === "template" || p.kind === "regex") return false;
    if (p.kind === "id")
      return /^(return|typeof|instanceof|in|of|new|delete|void|throw|case|do|else|yield|await)$/.test(
        p.value,
      );
    return !/^[)\]}]$/.test(p.value);
  };
  const count = (s) => {
    for (const ch of s) if (ch === "\n") line++;
  };

  /** Reads template text from `i` (just after "`" or a closing `}`) to the closing "`" or the next `${`. */
  const readTemplateChunk = () => {
    let text = "";
    while (i < src.length) {
      const ch = src[i];
      if (ch === "\\") {
        text += src.slice(i, i + 2);
        count(src.slice(i, i + 2));
        i += 2;
      } else if (ch === "`") {
        i++;
        return { text, done: true };
      } else if (ch === "$" && src[i + 1] === "{") {
        i += 2;
        return { text, done: false };
      } else {
        if (ch === "\n") line++;
        text += ch;
        i++;
      }
    }
    return { text, done: true };
  };
  /** The template being assembled for each open `${` (parallel to templateStack). */
  const openTemplates = [];
  /** Appends the next chunk of text to `tok`: done at the closing "`", else open until its `}`. */
  const continueTemplate = (tok) => {
    const { text, done } = readTemplateChunk();
    tok.value += text;
    if (done) tokens.push(tok);
    else {
      tok.value += HOLE;
      openTemplates.push(tok);
      templateStack.push(braceDepth);
    }
  };

  while (i < src.length) {
    const ch = src[i];
    if (ch === "\n") {
      line++;
      i++;
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "/" && src[i + 1] === "/") {
      const end = src.indexOf("\n", i);
      const text = src.slice(i, end === -1 ? src.length : end);
      if (tokens.length === 0 && openTemplates.length === 0) leading.push(text);
      i = end === -1 ? src.length : end;
      continue;
    }
    if (ch === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const text = src.slice(i, end === -1 ? src.length : end + 2);
      if (tokens.length === 0 && openTemplates.length === 0) leading.push(text);
      count(text);
      i += text.length;
      continue;
    }
    if (ch === '"' || ch === "'") {
      const startLine = line;
      let j = i + 1;
      let value = "";
      while (j < src.length && src[j] !== ch && src[j] !== "\n") {
        if (src[j] === "\\") {
          value += src[j + 1] ?? "";
          j += 2;
        } else value += src[j++];
      }
      tokens.push({ kind: "string", value, line: startLine });
      i = j + 1;
      continue;
    }
    if (ch === "`") {
      i++;
      continueTemplate({ kind: "template", value: "", line });
      continue;
    }
    if (ch === "/" && regexAllowed()) {
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== "\n") {
        if (src[j] === "\\") j += 2;
        else if (src[j] === "/" && !inClass) break;
        else {
          if (src[j] === "[") inClass = true;
          else if (src[j] === "]") inClass = false;
          j++;
        }
      }
      j++;
      while (j < src.length && /[a-z]/i.test(src[j])) j++;
      tokens.push({ kind: "regex", value: src.slice(i, j), line });
      i = j;
      continue;
    }
    if (/[A-Za-z_$]/.test(ch)) {
      let j = i + 1;
      while (j < src.length && /[\w$]/.test(src[j])) j++;
      tokens.push({ kind: "id", value: src.slice(i, j), line });
      i = j;
      continue;
    }
    if (/[0-9]/.test(ch)) {
      let j = i + 1;
      while (j < src.length && /[\w.]/.test(src[j])) j++;
      tokens.push({ kind: "number", value: src.slice(i, j), line });
      i = j;
      continue;
    }
    if (ch === "{") braceDepth++;
    if (ch === "}") {
      if (templateStack.length > 0 && templateStack[templateStack.length - 1] === braceDepth) {
        // The end of a `${...}`: back to the template's text.
        templateStack.pop();
        i++;
        continueTemplate(openTemplates.pop());
        continue;
      }
      braceDepth--;
    }
    tokens.push({ kind: "punct", value: ch, line });
    i++;
  }
  return { tokens, leadingComments: leading };
}

// ---------------------------------------------------------------------------------------------
// Imports and cycles

/**
 * Module specifiers a file imports: `import ... from`, `import "x"`, `import type`, `export ... from`
 * and `import("x")` (a dynamic import or a type-position import). `typeOnly` when the statement is
 * `import type` / `export type` or a type-position `import("...")` after `typeof`.
 */
export function parseImports(src) {
  const { tokens } = tokenize(src);
  const out = [];
  const isStr = (t) => t && t.kind === "string";
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.kind !== "id" || (t.value !== "import" && t.value !== "export")) continue;
    const prev = tokens[k - 1];
    if (prev && prev.kind === "punct" && prev.value === ".") continue; // import.meta, x.import
    const next = tokens[k + 1];
    if (t.value === "import" && next?.value === "(" && isStr(tokens[k + 2])) {
      const typeOnly = prev?.kind === "id" && prev.value === "typeof";
      out.push({ specifier: tokens[k + 2].value, line: t.line, typeOnly, kind: "dynamic" });
      continue;
    }
    if (t.value === "import" && isStr(next)) {
      out.push({ specifier: next.value, line: t.line, typeOnly: false, kind: "side-effect" });
      continue;
    }
    const typeOnly = next?.kind === "id" && next.value === "type" && tokens[k + 2]?.value !== "=";
    if (t.value === "export") {
      // Only `export {...} from`, `export * [as x] from`, `export type {...} from`.
      let m = typeOnly ? k + 2 : k + 1;
      if (tokens[m]?.value === "*") {
        m++;
        if (tokens[m]?.value === "as") m += 2;
      } else if (tokens[m]?.value === "{") {
        while (m < tokens.length && tokens[m].value !== "}") m++;
        m++;
      } else continue;
      if (tokens[m]?.value === "from" && isStr(tokens[m + 1]))
        out.push({ specifier: tokens[m + 1].value, line: t.line, typeOnly, kind: "re-export" });
      continue;
    }
    // import [type] a, { b, type c } from "x" — scan to `from "x"`, never past a `;`.
    for (let m = k + 1; m < tokens.length && m < k + 400; m++) {
      if (tokens[m].value === ";") break;
      if (tokens[m].kind === "id" && tokens[m].value === "from" && isStr(tokens[m + 1])) {
        out.push({ specifier: tokens[m + 1].value, line: t.line, typeOnly, kind: "import" });
        break;
      }
    }
  }
  return out;
}

/** The .ts file a relative specifier names (`./x`, `./x.js`, `./x.ts`, `./dir` → dir/index.ts), or null. */
export function resolveSpecifier(fromFile, specifier, exists = existsSync) {
  if (!specifier.startsWith(".")) return null;
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [base, base.replace(/\.(m?js)$/, ".ts"), `${base}.ts`, join(base, "index.ts")].filter(
    (c) => c.endsWith(".ts"),
  );
  for (const c of candidates)
    if (exists(c) && (exists === existsSync ? statSync(c).isFile() : true)) return c;
  return null;
}

/** Strongly connected components of `graph` (Map<node, Iterable<node>>), Tarjan's algorithm, iterative. */
export function stronglyConnected(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const out = [];
  for (const root of graph.keys()) {
    if (idx.has(root)) continue;
    const work = [{ node: root, it: [...(graph.get(root) ?? [])][Symbol.iterator]() }];
    idx.set(root, index);
    low.set(root, index++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const step = frame.it.next();
      if (!step.done) {
        const w = step.value;
        if (!idx.has(w)) {
          idx.set(w, index);
          low.set(w, index++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, it: [...(graph.get(w) ?? [])][Symbol.iterator]() });
        } else if (onStack.has(w)) low.set(frame.node, Math.min(low.get(frame.node), idx.get(w)));
        continue;
      }
      work.pop();
      const v = frame.node;
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent), low.get(v)));
      }
      if (low.get(v) === idx.get(v)) {
        const comp = [];
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          comp.push(w);
        } while (w !== v);
        out.push(comp);
      }
    }
  }
  return out;
}

/** Shortest path from `from` to `to` inside `allowed` (BFS), as a node list, or null. */
function shortestPath(graph, from, to, allowed) {
  const prev = new Map([[from, null]]);
  const queue = [from];
  while (queue.length > 0) {
    const v = queue.shift();
    if (v === to) {
      const path = [];
      for (let x = v; x !== null; x = prev.get(x)) path.unshift(x);
      return path;
    }
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (allowed.has(w) && !prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return null;
}

/**
 * Import cycles of `graph`: for every edge u → v inside a strongly connected component, the
 * shortest cycle through it (u → v → … → u), deduplicated. Every import that takes part in a cycle
 * is in at least one of them, without listing the exponentially many longer ones. Each cycle is a
 * node list starting at its smallest node, without repeating it at the end.
 */
export function findCycles(graph) {
  const seen = new Set();
  const cycles = [];
  for (const comp of stronglyConnected(graph)) {
    const members = new Set(comp);
    const selfLoop = comp.length === 1 && [...(graph.get(comp[0]) ?? [])].includes(comp[0]);
    if (comp.length === 1 && !selfLoop) continue;
    for (const u of [...comp].sort()) {
      for (const v of [...(graph.get(u) ?? [])].sort()) {
        if (!members.has(v)) continue;
        const back = u === v ? [u] : shortestPath(graph, v, u, members);
        if (!back) continue;
        const cycle = u === v ? [u] : [u, ...back.slice(0, -1)];
        const start = cycle.indexOf([...cycle].sort()[0]);
        const norm = [...cycle.slice(start), ...cycle.slice(0, start)];
        const key = norm.join("\0");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(norm);
        }
      }
    }
  }
  return cycles.sort((a, b) => a.length - b.length || a.join().localeCompare(b.join()));
}

// ---------------------------------------------------------------------------------------------
// D1 writers

const WRITE_SQL =
  /(?:^|;)\s*(INSERT\s+(?:OR\s+[A-Z]+\s+)?INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|REPLACE\s+INTO)\b/;
const DB_RECEIVER = /^(db|tx|trx|database|drizzle)$|Db$|DB$/;

/** The leading comment block's `Writes D1: <reason>` line, or null. */
export function writesD1Reason(leadingComments) {
  for (const block of leadingComments) {
    for (const raw of block.split("\n")) {
      const l = raw.replace(/^\s*(\/\/+|\/\*+|\*+)?\s*/, "");
      const m = /^Writes D1:\s*(\S.*?)\s*(\*\/)?$/.exec(l);
      if (m) return m[1];
    }
  }
  return null;
}

/**
 * Where a source writes D1: `{ line, what }` for each string/template literal whose SQL starts a
 * statement with a write, and each drizzle write builder called on a db-like receiver.
 */
export function findD1Writes(src) {
  const { tokens, leadingComments } = tokenize(src);
  const writes = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.kind === "string" || t.kind === "template") {
      const m = WRITE_SQL.exec(t.value);
      if (m) {
        const statement = t.value.slice(m.index + m[0].indexOf(m[1])).replace(/\s+/g, " ");
        writes.push({ line: t.line, what: statement.length > 70 ? `${statement.slice(0, 70)}…` : statement });
      }
      continue;
    }
    if (t.kind !== "id" || !/^(insert|update|delete)$/.test(t.value)) continue;
    if (tokens[k - 1]?.value !== "." || tokens[k + 1]?.value !== "(") continue;
    let r = tokens[k - 2];
    let receiver = r?.value;
    if (r?.value === ")") {
      // createDb(d1).insert(...) / drizzle(env.DB).update(...): the callee names the receiver.
      let depth = 0;
      let m = k - 2;
      for (; m >= 0; m--) {
        if (tokens[m].value === ")") depth++;
        else if (tokens[m].value === "(" && --depth === 0) break;
      }
      r = tokens[m - 1];
      receiver = r?.kind === "id" ? `${r.value}()` : undefined;
    }
    if (r?.kind === "id" && DB_RECEIVER.test(r.value))
      writes.push({ line: t.line, what: `drizzle ${receiver}.${t.value}(` });
  }
  return { writes, reason: writesD1Reason(leadingComments) };
}

// ---------------------------------------------------------------------------------------------
// Main

function listTs(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTs(p));
    else if (entry.name.endsWith(".ts")) out.push(p);
  }
  return out.sort();
}

const lineCount = (text) => (text === "" ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0));

export function checkStructure(root) {
  const srcDir = join(root, "src");
  const rel = (p) => relative(root, p).split(sep).join("/");
  const files = listTs(srcDir);
  const texts = new Map(files.map((f) => [f, readFileSync(f, "utf8")]));

  const long = files
    .map((f) => ({ file: rel(f), lines: lineCount(texts.get(f)) }))
    .filter((x) => x.lines > MAX_LINES)
    .sort((a, b) => b.lines - a.lines);

  const graph = new Map();
  /** "from\0to" → true when every import along that edge is type-only. */
  const typeOnlyEdge = new Map();
  const unresolved = [];
  for (const f of files) {
    const targets = new Set();
    for (const imp of parseImports(texts.get(f))) {
      if (!imp.specifier.startsWith(".")) continue;
      const target = resolveSpecifier(f, imp.specifier);
      if (!target) {
        // A JSON or other non-TypeScript file cannot take part in a cycle of src/ modules.
        if (!existsSync(resolve(dirname(f), imp.specifier)))
          unresolved.push(`${rel(f)}:${imp.line} ${imp.specifier}`);
        continue;
      }
      if (!target.startsWith(srcDir + sep)) continue;
      const key = `${rel(f)}\0${rel(target)}`;
      typeOnlyEdge.set(key, (typeOnlyEdge.get(key) ?? true) && imp.typeOnly);
      targets.add(rel(target));
    }
    graph.set(rel(f), targets);
  }
  const cycles = findCycles(graph).map((c) => {
    const hops = [...c, c[0]];
    let text = hops[0];
    for (let n = 1; n < hops.length; n++)
      text += typeOnlyEdge.get(`${hops[n - 1]}\0${hops[n]}`) ? ` -(type)-> ${hops[n]}` : ` -> ${hops[n]}`;
    return text;
  });

  const writers = [];
  for (const f of files) {
    const r = rel(f);
    if (r.startsWith("src/services/")) continue;
    const { writes, reason } = findD1Writes(texts.get(f));
    if (writes.length > 0 && reason === null) writers.push({ file: r, writes });
  }
  return { files: files.length, long, cycles, writers, unresolved };
}

function main() {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const { files, long, cycles, writers, unresolved } = checkStructure(root);
  const section = (title, items) => {
    console.log(`\n${title}: ${items.length === 0 ? "none" : items.length}`);
    for (const item of items) console.log(`  ${item}`);
  };
  console.log(`check-structure: ${files} files in src/`);
  section(
    `Files over ${MAX_LINES} lines`,
    long.map((x) => `${x.file}  ${x.lines} lines`),
  );
  section(
    "Import cycles (type-only imports included; every import in a cycle shows in at least one)",
    cycles,
  );
  section(
    "D1 writers outside src/services/ (move the write to a service, or start the file with a comment line `Writes D1: <why>`)",
    writers.map((w) => `${w.file}\n${w.writes.map((x) => `      line ${x.line}: ${x.what}`).join("\n")}`),
  );
  if (unresolved.length > 0)
    section("Relative imports that resolve to no .ts file (not counted)", unresolved);
  const failed = long.length + cycles.length + writers.length > 0;
  console.log(
    `\nSummary: ${long.length} file(s) over ${MAX_LINES} lines, ${cycles.length} import cycle(s), ` +
      `${writers.length} D1 writer(s) outside src/services/ — ${failed ? "FAIL" : "OK"}`,
  );
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
