// bench/scheduler: D1 rows read per scheduler tick (`rows_read` of the tick's due-selection
// queries, from the scheduler's own log line) and tick duration, with 10,000 / 100,000 /
// 1,000,000 contacts of which one day's birthdays are due in the measured tick; beside the tick,
// the time from the tick's start to the last due message created (the work queue's consumers
// create them from the pages the tick hands over; polled through the program's stats endpoint).
// Targets: rows read grow with the number due, not with the number of contacts; the due tick stays
// short (≤ 2 s at 1,000,000). Writes bench/RESULTS.md ("scheduler"; BENCH_SCHEDULER_WRITE=0: not).
//
//   node bench/scheduler/run.mjs                  (BENCH_SCHEDULER_SIZES=10000,100000,1000000)
//
// Only the public API and the scheduled handler: contacts are written through
// `POST /v1/contacts/batch` (1,000 a request; a million take about 9 minutes here), nothing is
// written to D1 directly. D1 is only read, for the query plan of the birthday selection (no API
// shows one). Everything runs on loopback and stops by itself.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { api, devVars, pool, ROOT, sleep, writeSection } from "../fanout/harness.mjs";

const SIZES = (process.env.BENCH_SCHEDULER_SIZES ?? "10000,100000,1000000").split(",").map(Number);
const PORT = Number(process.env.BENCH_PORT ?? 8797);
const WRANGLER_JS = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const ENV = {
  ...process.env,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  NO_COLOR: "1",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};
/** The bench's contact i: a Denver number, in UTC, born on the (i % 365)th day of a common year. */
const phoneOf = (i) => `+1303${String(200 + Math.floor(i / 10_000))}${String(i % 10_000).padStart(4, "0")}`;
const birthdayOf = (i) => `1990-${new Date(Date.UTC(2025, 0, 1 + (i % 365))).toISOString().slice(5, 10)}`;

/** Writes contacts 0…n−1 through `POST /v1/contacts/batch`, 1,000 a request, two requests at a time. */
async function seedThroughApi(base, key, n) {
  const chunks = Math.ceil(n / 1000);
  await pool(chunks, 2, async (c) => {
    const contacts = [];
    for (let i = c * 1000; i < Math.min(n, (c + 1) * 1000); i++)
      contacts.push({
        phone: phoneOf(i),
        first_name: `C${i}`,
        timezone: "UTC",
        birthday: birthdayOf(i),
        subscribed: true,
        marketing_opt_in: true,
      });
    const r = await api(base, "POST", "/v1/contacts/batch", { key, body: { contacts } });
    if (r.failed.length > 0) throw new Error(`contacts/batch: ${JSON.stringify(r.failed.slice(0, 3))}`);
  });
}

/** A read of the local D1 (the query plan only): nothing here writes to it. */
function d1(persist, sql, timeout = 600_000) {
  const r = spawnSync(
    process.execPath,
    [WRANGLER_JS, "d1", "execute", "DB", "--local", "--persist-to", persist, "--json", "--command", sql],
    { cwd: ROOT, env: ENV, encoding: "utf8", timeout, maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`d1 execute failed: ${(r.stderr || r.stdout).slice(0, 2000)}`);
  return r.stdout;
}

/**
 * `wrangler dev` on a fresh persisted folder, logging the Worker's console (the scheduler's tick
 * lines) to wrangler.log; `stop()` ends its process group.
 */
async function startWrangler(name) {
  const persist = join(ROOT, "bench/.tmp", name);
  rmSync(persist, { recursive: true, force: true });
  mkdirSync(persist, { recursive: true });
  const m = spawnSync(
    process.execPath,
    [WRANGLER_JS, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persist],
    {
      cwd: ROOT,
      env: ENV,
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  if (m.status !== 0) throw new Error(`migrations failed: ${m.stderr || m.stdout}`);
  const log = createWriteStream(join(persist, "wrangler.log"));
  const child = spawn(
    process.execPath,
    [
      WRANGLER_JS,
      "dev",
      "--port",
      String(PORT),
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(PORT + 1000),
      "--persist-to",
      persist,
      "--log-level",
      "log",
      // The committed wrangler.jsonc says production; this is local development.
      "--var",
      "ENVIRONMENT:development",
    ],
    { cwd: ROOT, env: ENV, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
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
    if (!exited) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  const base = `http://127.0.0.1:${PORT}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) throw new Error(`wrangler dev exited early; see ${join(persist, "wrangler.log")}`);
    try {
      const res = await fetch(`${base}/health`);
      await res.arrayBuffer();
      if (res.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error("wrangler dev did not start within 90 s");
    }
    await sleep(300);
  }
  return { base, persist, stop };
}

/** The scheduler's JSON log lines in wrangler's log, parsed. */
function tickLines(persist) {
  return readFileSync(join(persist, "wrangler.log"), "utf8")
    .split("\n")
    .map((l) => l.slice(l.indexOf("{")))
    .filter((l) => l.includes('"scheduler tick"'))
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return null;
      }
    })
    .filter(Boolean);
}

async function tick(base, persist, timeMs) {
  const before = tickLines(persist).length;
  const started = performance.now();
  const res = await fetch(
    `${base}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("* * * * *")}&time=${timeMs}`,
  );
  await res.arrayBuffer();
  const wall = performance.now() - started;
  for (let i = 0; i < 1200; i++) {
    const lines = tickLines(persist);
    if (lines.length > before) return { ...lines.at(-1), wall_ms: Math.round(wall), startedAt: started };
    await sleep(100);
  }
  throw new Error("no scheduler log line within 120 s");
}

async function measure(n) {
  const admin = devVars();
  const w = await startWrangler(`scheduler-${n}`);
  try {
    const { tenant, api_key: key } = await api(w.base, "POST", "/v1/tenants", {
      key: admin,
      body: { name: "Bench", brand_name: "Bench Bakery", timezone: "UTC" },
    });
    const seedStart = performance.now();
    await seedThroughApi(w.base, key, n);
    const seedS = (performance.now() - seedStart) / 1000;
    // The measured tick: a whole minute at least a minute ahead; the program's `at` is that minute,
    // so every contact whose birthday is today is due in it. The program is active before the tick
    // of the minute before, which opens the measured window: one ordinary minute of due birthdays,
    // no retroactive-send rule and no first-tick look-back in it, without touching D1.
    const tickMs = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000;
    const t = new Date(tickMs);
    const hhmm = `${String(t.getUTCHours()).padStart(2, "0")}:${String(t.getUTCMinutes()).padStart(2, "0")}`;
    const program = await api(w.base, "POST", "/v1/programs", {
      key,
      body: {
        name: "Birthdays",
        kind: "birthday",
        quiet_hours: "ignore",
        trigger: { type: "date", field: "birthday", at: hhmm },
      },
    });
    while (Date.now() < tickMs - 60_000) await sleep(200);
    await tick(w.base, w.persist, tickMs - 60_000);
    const md = t.toISOString().slice(5, 10);
    const plan = JSON.parse(
      d1(
        w.persist,
        `EXPLAIN QUERY PLAN SELECT id FROM contacts WHERE tenant_id = '${tenant.id}' AND birthday_md IN (SELECT value FROM json_each('["${md}"]'))`,
      ),
    )[0].results.map((r) => r.detail);
    while (Date.now() < tickMs) await sleep(200);
    const due = await tick(w.base, w.persist, tickMs);
    // Tick → last due message: the program's messages (any status) counted every 50 ms until
    // every due occurrence has one (or 10 minutes passed).
    const countWritten = async () => {
      const stats = await api(w.base, "GET", `/v1/programs/${program.id}/stats`, { key });
      return Object.values(stats.messages).reduce((a, b) => a + b, 0);
    };
    let written = await countWritten();
    while (written < due.due && performance.now() - due.startedAt < 600_000) {
      await sleep(50);
      written = await countWritten();
    }
    const lastMessageMs = Math.round(performance.now() - due.startedAt);
    const idle = await tick(w.base, w.persist, tickMs + 60_000);
    written = await countWritten();
    return { n, seedS, due, idle, written, lastMessageMs, plan };
  } finally {
    await w.stop();
  }
}

const rows = [];
for (const n of SIZES) {
  const started = performance.now();
  const r = await measure(n);
  console.log(
    JSON.stringify({
      contacts: n,
      due: r.due,
      idle: r.idle,
      written: r.written,
      last_message_ms: r.lastMessageMs,
      seed_s: r.seedS.toFixed(1),
    }),
  );
  rows.push({ ...r, totalS: (performance.now() - started) / 1000 });
}

const table = rows
  .map(
    (r) =>
      `| ${r.n.toLocaleString("en-US")} | ${r.seedS.toFixed(0)} | ${r.due.due} | ${r.due.pages ?? "–"} | ${r.written} | ${r.due.rows_read} | ${r.due.duration_ms} | ${r.lastMessageMs} | ${r.idle.rows_read} | ${r.idle.duration_ms} |`,
  )
  .join("\n");
const plan = rows.at(-1)?.plan.join("; ") ?? "";
if (process.env.BENCH_SCHEDULER_WRITE === "0") process.exit(0);
await writeSection(
  "scheduler",
  `Run: \`node bench/scheduler/run.mjs\` on ${new Date().toISOString().slice(0, 10)} (2 cores, \`wrangler dev\` local D1).
One birthday program (\`at\` = the measured minute, zone UTC); contacts' birthdays spread over the
year, so about N / 365 are due in the measured tick. \`rows read\` = D1 \`meta.rows_read\` of the
tick's due-selection queries (logged by the scheduler). The tick selects what is due and hands it
to the work queue in pages of ≤ 100 (\`program_occurrence_pages\` rows, one job each: the pages
column); the queue's consumers create the messages. "Tick → last message" is from the tick's start
to the moment the program's stats count a message for every due occurrence (polled every 50 ms;
the local work queue waits up to its \`max_batch_timeout\` of 1 s before it delivers). "Idle" is
the next tick, when nothing new is due.
Contacts are written through \`POST /v1/contacts/batch\`, 1,000 a request, two at a time (the
seeding column; not part of any tick), subscribed and opted in with their consent records.

| contacts | seeding (s) | due | pages | messages written | rows read (due tick) | tick ms (due) | tick → last message (ms) | rows read (idle tick) | tick ms (idle) |
|---|---|---|---|---|---|---|---|---|---|
${table}

Query plan of the birthday selection: \`${plan}\`.
Rows read follow the birthdays of the local dates on which some zone (UTC−12…UTC+14) reaches the
program's \`at\` inside the window: one month-day (about N / 365) for most of the day, two while
the 28-hour spans of consecutive dates overlap. No tick reads the whole table.`,
);
console.log("wrote bench/RESULTS.md (scheduler)");
