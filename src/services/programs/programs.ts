import { and, desc, eq } from "drizzle-orm";
import { beforeCursor } from "../../db/keyset";
import type { ProgramRow } from "../../db/rows";
import {
  carriers,
  type ProgramAudience,
  type ProgramKind,
  type ProgramTrigger,
  programs,
  segments,
} from "../../db/schema";
import { cronError, isValidZone, nextCron } from "../../domain/schedule";
import { PROGRAM_TEMPLATE_ROOTS, validateTemplate } from "../../domain/template";
import { newId } from "../../lib/ids";
import type { Cursor } from "../../lib/pagination";
import { HttpProblem, invalidField, notFound } from "../../lib/problem";
import { iso, nowIso } from "../../lib/time";
import type { ServiceContext } from "../context";
import { validateAudienceFilter } from "./audience";
import { cancelProgramPending } from "./cancel";
import { DEFAULT_AT, DEFAULT_VALIDITY_HOURS, KIND_DEFAULTS } from "./defaults";
import { dueBuildStatements, startDueBuild } from "./due-build";

export type TriggerInput =
  | { type: "event"; event: string; delay_minutes?: number }
  | { type: "date"; field: string; offset_days?: number; at?: string; repeat?: "yearly" | "none" }
  | { type: "schedule"; cron: string; timezone?: string }
  | { type: "manual" };

export interface ProgramInput {
  name: string;
  kind: ProgramKind;
  category?: "transactional" | "marketing";
  department?: string | null;
  template?: string;
  trigger?: TriggerInput;
  audience?: ProgramAudience | null;
  status?: "active" | "paused";
  quiet_hours?: "enforce" | "ignore";
  carrier_id?: string | null;
  validity_hours?: number;
  exit_on?: string[];
}

export type ProgramPatch = Partial<Omit<ProgramInput, "kind">>;

const DATE_FIELD = /^(birthday|attributes\.[A-Za-z0-9_]{1,64})$/;

/** Fills trigger defaults and checks what zod cannot (field, cron, zone). */
export function normaliseTrigger(t: TriggerInput, path = "trigger"): ProgramTrigger {
  switch (t.type) {
    case "event":
      return t.delay_minutes
        ? { type: "event", event: t.event, delay_minutes: t.delay_minutes }
        : { type: "event", event: t.event };
    case "date": {
      if (!DATE_FIELD.test(t.field))
        throw invalidField(`${path}.field`, 'must be "birthday" or "attributes.<key>"');
      const repeat = t.repeat ?? (t.field === "birthday" ? "yearly" : "none");
      return {
        type: "date",
        field: t.field,
        offset_days: t.offset_days ?? 0,
        at: t.at ?? DEFAULT_AT,
        repeat,
      };
    }
    case "schedule": {
      const err = cronError(t.cron);
      if (err) throw invalidField(`${path}.cron`, err);
      const timezone = t.timezone ?? "contact";
      if (timezone !== "contact" && !isValidZone(timezone))
        throw invalidField(`${path}.timezone`, 'must be "contact" or an IANA time zone');
      return { type: "schedule", cron: t.cron, timezone };
    }
    case "manual":
      return { type: "manual" };
  }
}

function checkTemplate(template: string): void {
  const res = validateTemplate(template, PROGRAM_TEMPLATE_ROOTS);
  if (!res.ok) {
    const where = res.line !== undefined ? ` (line ${res.line}, column ${res.col})` : "";
    throw invalidField("template", `${res.message}${where}`);
  }
}

async function checkReferences(
  ctx: ServiceContext,
  carrierId?: string | null,
  audience?: ProgramAudience | null,
) {
  if (carrierId) {
    const c = await ctx.db
      .select({ id: carriers.id, deletedAt: carriers.deletedAt })
      .from(carriers)
      .where(and(eq(carriers.tenantId, ctx.tenantId), eq(carriers.id, carrierId)))
      .get();
    if (!c || c.deletedAt) throw invalidField("carrier_id", "does not exist");
  }
  if (audience && "segment_id" in audience) {
    const s = await ctx.db
      .select({ id: segments.id })
      .from(segments)
      .where(and(eq(segments.tenantId, ctx.tenantId), eq(segments.id, audience.segment_id)))
      .get();
    if (!s) throw invalidField("audience.segment_id", "does not exist");
  }
  if (audience && "filter" in audience) validateAudienceFilter(audience.filter);
}

/** Next fire time of a fixed-zone schedule, for the scheduler's `next_run_at` index. */
export function nextRunFor(trigger: ProgramTrigger, status: string, afterMs: number): string | null {
  if (status !== "active" || trigger.type !== "schedule" || trigger.timezone === "contact") return null;
  const next = nextCron(trigger.cron, trigger.timezone, afterMs);
  return next === null ? null : iso(next);
}

export async function createProgram(ctx: ServiceContext, input: ProgramInput): Promise<ProgramRow> {
  const defaults = KIND_DEFAULTS[input.kind];
  const trigger = normaliseTrigger(input.trigger ?? defaults.trigger);
  const template = input.template ?? defaults.template;
  checkTemplate(template);
  await checkReferences(ctx, input.carrier_id, input.audience);
  const now = nowIso();
  const status = input.status ?? "active";
  const category = input.category ?? defaults.category;
  const row: ProgramRow = {
    id: newId("program"),
    tenantId: ctx.tenantId,
    name: input.name,
    kind: input.kind,
    category,
    department: input.department ?? null,
    template,
    trigger,
    triggerType: trigger.type,
    triggerEvent: trigger.type === "event" ? trigger.event : null,
    audience: input.audience ?? null,
    exitOn: input.exit_on ?? defaults.exitOn,
    quietHours: input.quiet_hours ?? "enforce",
    carrierId: input.carrier_id ?? null,
    validityHours: input.validity_hours ?? DEFAULT_VALIDITY_HOURS,
    status,
    activatedAt: status === "active" ? now : null,
    nextRunAt: nextRunFor(trigger, status, Date.parse(now)),
    createdAt: now,
    updatedAt: now,
  };
  // The program and the start of its due build commit together: a build that was started finishes.
  const due = dueBuildStatements(ctx, row);
  await ctx.db.batch([ctx.db.insert(programs).values(row), ...due.statements]);
  await startDueBuild(ctx, row, due.build);
  return row;
}

export async function getProgram(ctx: ServiceContext, id: string): Promise<ProgramRow> {
  const row = await ctx.db
    .select()
    .from(programs)
    .where(and(eq(programs.tenantId, ctx.tenantId), eq(programs.id, id)))
    .get();
  if (!row) throw notFound("Program");
  return row;
}

export async function listPrograms(ctx: ServiceContext, input: { limit: number; cursor?: Cursor }) {
  return ctx.db
    .select()
    .from(programs)
    .where(
      and(eq(programs.tenantId, ctx.tenantId), beforeCursor(programs.createdAt, programs.id, input.cursor)),
    )
    .orderBy(desc(programs.createdAt), desc(programs.id))
    .limit(input.limit + 1)
    .all();
}

export async function updateProgram(
  ctx: ServiceContext,
  id: string,
  patch: ProgramPatch,
): Promise<ProgramRow> {
  const current = await getProgram(ctx, id);
  if (current.status === "archived")
    throw new HttpProblem("conflict", "This program is archived and cannot change");
  if (patch.template !== undefined) checkTemplate(patch.template);
  const trigger = patch.trigger ? normaliseTrigger(patch.trigger) : current.trigger;
  await checkReferences(ctx, patch.carrier_id, patch.audience);
  const now = nowIso();
  const status = patch.status ?? current.status;
  const resumed = status === "active" && current.status !== "active";
  const next: ProgramRow = {
    ...current,
    name: patch.name ?? current.name,
    category: patch.category ?? current.category,
    department: patch.department !== undefined ? patch.department : current.department,
    template: patch.template ?? current.template,
    trigger,
    triggerType: trigger.type,
    triggerEvent: trigger.type === "event" ? trigger.event : null,
    audience: patch.audience !== undefined ? patch.audience : current.audience,
    exitOn: patch.exit_on ?? current.exitOn,
    quietHours: patch.quiet_hours ?? current.quietHours,
    carrierId: patch.carrier_id !== undefined ? patch.carrier_id : current.carrierId,
    validityHours: patch.validity_hours ?? current.validityHours,
    status,
    // Occurrences due while paused are skipped: the active stretch starts again now.
    activatedAt: resumed ? now : current.activatedAt,
    updatedAt: now,
  };
  const triggerChanged = JSON.stringify(trigger) !== JSON.stringify(current.trigger);
  next.nextRunAt =
    triggerChanged || resumed || status !== "active"
      ? nextRunFor(trigger, status, Date.parse(now))
      : current.nextRunAt;
  const write = ctx.db
    .update(programs)
    .set({ ...next, id: undefined, tenantId: undefined, createdAt: undefined, kind: undefined })
    .where(and(eq(programs.tenantId, ctx.tenantId), eq(programs.id, id)));
  if (triggerChanged || resumed || status !== current.status) {
    const due = dueBuildStatements(ctx, next);
    await ctx.db.batch([write, ...due.statements]);
    await startDueBuild(ctx, next, due.build);
  } else {
    await write;
  }
  return next;
}

/** DELETE: archived (still readable), its pending messages canceled, no more occurrences. */
export async function archiveProgram(ctx: ServiceContext, id: string): Promise<void> {
  const current = await getProgram(ctx, id);
  if (current.status === "archived") return;
  const now = nowIso();
  await ctx.db.batch([
    ctx.db
      .update(programs)
      .set({ status: "archived", nextRunAt: null, updatedAt: now })
      .where(and(eq(programs.tenantId, ctx.tenantId), eq(programs.id, id))),
    ...dueBuildStatements(ctx, { ...current, status: "archived" }).statements,
  ]);
  await cancelProgramPending(ctx, id, null, "program archived");
}
