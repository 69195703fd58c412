// Shared pieces of the sending benchmarks: a loopback Twilio-shaped carrier double, `wrangler dev`
// started and stopped by the script, and small HTTP helpers. Loopback only; everything is bounded
// in time and stops itself.
import { spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { createServer } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// Run wrangler with this very node (the project's), not whatever `node` is first on PATH.
const WRANGLER_JS = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
// CLOUDFLARE_CF_FETCH_ENABLED=false: miniflare would otherwise try to fetch `Request.cf` from the internet.
const QUIET_ENV = {
  ...process.env,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  NO_COLOR: "1",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every wrangler started here dies with this script, however it ends (error, Ctrl-C, timeout).
const children = new Set();
process.on("exit", () => {
  for (const pid of children) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => process.exit(130));

/** A free loopback port (asked from the OS, so parallel runs and other servers don't collide). */
export async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * A loopback double of Twilio's CreateMessage (`POST /2010-04-01/Accounts/{sid}/Messages.json`,
 * form-encoded, answering 201 with a Twilio-shaped message). Records every arrival time (ms).
 */
/**
 * Loopback double of Twilio's CreateMessage. Records each arrival time; `onMessage(form, at)` sees
 * every accepted request (e.g. to match a tagged body).
 */
export async function startTwilioDouble({ onMessage } = {}) {
  const arrivals = [];
  let n = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const m = req.url?.match(/^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json/);
      if (req.method !== "POST" || !m) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ code: 20404, message: "Not Found", status: 404 }));
        return;
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      const at = performance.timeOrigin + performance.now();
      arrivals.push(at);
      onMessage?.(form, at);
      n += 1;
      res.writeHead(201, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          sid: `SM${n.toString(16).padStart(32, "0")}`,
          account_sid: m[1],
          to: form.get("To"),
          from: form.get("From"),
          body: form.get("Body"),
          status: "queued",
          num_segments: "1",
          direction: "outbound-api",
          date_created: new Date().toUTCString(),
        }),
      );
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    reset: () => {
      arrivals.length = 0;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

/** `.dev.vars` from `.dev.vars.example` when missing; returns ADMIN_TOKEN. */
export function devVars() {
  const path = join(ROOT, ".dev.vars");
  if (!existsSync(path)) copyFileSync(join(ROOT, ".dev.vars.example"), path);
  const line = readFileSync(path, "utf8")
    .split("\n")
    .find((l) => l.startsWith("ADMIN_TOKEN="));
  if (!line) throw new Error(".dev.vars has no ADMIN_TOKEN");
  return line.slice("ADMIN_TOKEN=".length).trim();
}

/**
 * A frozen copy of the Worker (src, migrations, wrangler.jsonc, .dev.vars) to run `wrangler dev` on:
 * wrangler restarts the Worker whenever a watched file changes, which must not happen mid-measurement.
 */
function snapshot(dir) {
  devVars();
  const app = join(dir, "app");
  // A restart on kept state runs the same frozen copy again.
  if (existsSync(join(app, "wrangler.jsonc"))) return join(app, "wrangler.jsonc");
  mkdirSync(app, { recursive: true });
  for (const entry of ["src", "migrations", "wrangler.jsonc", ".dev.vars", "package.json", "tsconfig.json"]) {
    if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(app, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(app, "node_modules"), "dir");
  return join(app, "wrangler.jsonc");
}

/**
 * Starts `wrangler dev` on a fresh `--persist-to` folder (migrations applied first when `migrate`),
 * waits until `readyPath` answers, and returns a handle whose `stop()` ends the whole process group
 * (`kill()`: SIGKILL to the group at once, no shutdown). Without `config`, Herald itself runs, from
 * a frozen copy of the tree. `keepState`: restart on the folder a previous start of `name` left.
 */
export async function startWrangler({
  name,
  config,
  migrate = false,
  vars = {},
  readyPath = "/health",
  keepState = false,
}) {
  const dir = join(ROOT, "bench/.tmp", name);
  if (!keepState) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const persist = join(dir, "state");
  const configPath = config ?? snapshot(dir);
  const cwd = dirname(configPath);
  const configArgs = ["--config", configPath];
  if (migrate) {
    const r = spawnSync(
      process.execPath,
      [WRANGLER_JS, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persist, ...configArgs],
      { cwd, env: QUIET_ENV, encoding: "utf8", timeout: 120_000 },
    );
    if (r.status !== 0) throw new Error(`migrations failed: ${r.stderr || r.stdout}`);
  }
  const log = createWriteStream(join(dir, "wrangler.log"), { flags: keepState ? "a" : "w" });
  const port = await freePort();
  const inspectorPort = await freePort();
  // The committed wrangler.jsonc says production; benchmarks are local development (loopback doubles).
  const varArgs = Object.entries({ ENVIRONMENT: "development", ...vars }).flatMap(([k, v]) => [
    "--var",
    `${k}:${v}`,
  ]);
  const child = spawn(
    process.execPath,
    [
      WRANGLER_JS,
      "dev",
      ...configArgs,
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      persist,
      "--log-level",
      process.env.BENCH_LOG_LEVEL ?? "warn",
      ...varArgs,
    ],
    { cwd, env: QUIET_ENV, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  children.add(child.pid);
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  const stop = async () => {
    if (exited) return;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      return;
    }
    for (let i = 0; i < 50 && !exited; i++) await sleep(100);
    try {
      // The group, not only the launcher: wrangler's own children (workerd, esbuild) go too.
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
    children.delete(child.pid);
  };
  const kill = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
    children.delete(child.pid);
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) throw new Error(`wrangler dev (${name}) exited early; see ${join(dir, "wrangler.log")}`);
    try {
      const res = await fetch(base + readyPath);
      await res.arrayBuffer();
      if (res.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev (${name}) did not start within 90 s`);
    }
    await sleep(300);
  }
  return { base, persist, config: configPath, stop, kill, pid: child.pid, exited: () => exited };
}

/** JSON request; throws on a status outside `ok`. */
export async function api(base, method, path, { key, body, ok = [200, 201, 202] } = {}) {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!ok.includes(res.status)) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}

/** Runs `task(i)` for i in [0, n) with at most `limit` in flight. */
export async function pool(n, limit, task) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, n) }, async () => {
    while (next < n) {
      const i = next++;
      await task(i);
    }
  });
  await Promise.all(workers);
}

/** Waits until `count()` reaches `target` or `timeoutMs` passes; returns the final count. */
export async function waitFor(count, target, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (count() < target && Date.now() < until) await sleep(100);
  return count();
}

/** A distinct valid US mobile-style number per index. */
export const phoneFor = (i) =>
  `+1415${String(200 + Math.floor(i / 10_000))}${String(i % 10_000).padStart(4, "0")}`;

/** The most arrivals inside any window of `windowMs` (sliding over the sorted arrival times). */
export function maxInWindow(times, windowMs = 1000) {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    while (t[i] - t[j] >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** Replaces (or appends) the `## <section>` part of bench/RESULTS.md, leaving other sections as they are. */
export async function writeSection(section, markdown) {
  const { readFileSync: read, writeFileSync: write } = await import("node:fs");
  const path = join(ROOT, "bench/RESULTS.md");
  const current = existsSync(path) ? read(path, "utf8") : "# Benchmarks\n";
  const heading = `## ${section}`;
  const lines = current.split("\n");
  const start = lines.findIndex((l) => l.trim() === heading);
  const block = `${heading}\n\n${markdown.trim()}\n`;
  let out;
  if (start === -1) {
    out = `${current.replace(/\n*$/, "\n")}\n${block}`;
  } else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    if (end === -1) end = lines.length;
    out = [...lines.slice(0, start), ...block.split("\n"), ...lines.slice(end)]
      .join("\n")
      .replace(/\n{3,}/g, "\n\n");
  }
  write(path, out.endsWith("\n") ? out : `${out}\n`);
}
