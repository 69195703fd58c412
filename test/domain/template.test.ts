import fc from "fast-check";
import { Liquid } from "liquidjs";
import { describe, expect, it } from "vitest";
import { analyzeBody } from "../../src/domain/encoding";
import {
  PROGRAM_TEMPLATE_ROOTS,
  renderBody,
  renderTemplate,
  validateTemplate,
} from "../../src/domain/template";
import {
  exceedsBodyLimit,
  RenderBudget,
  TEMPLATE_LIMITS,
  TemplateLimitError,
} from "../../src/domain/template-limits";
import { KIND_DEFAULTS } from "../../src/services/programs/defaults";

const roots = PROGRAM_TEMPLATE_ROOTS;

describe("validateTemplate", () => {
  it("accepts the program roots, filters, tags and local variables", () => {
    expect(
      validateTemplate(
        "{% assign n = contact.first_name | upcase %}{% if event.order_name %}{{ n }} {{ event.order_name }}{% endif %} {{ program.name }} {{ tenant.brand_name }} {{ contact.attributes.city }}",
        roots,
      ),
    ).toEqual({ ok: true });
  });

  it("rejects another root with its position", () => {
    expect(validateTemplate("Hi\n  {{ user.name }}", roots)).toMatchObject({ ok: false, line: 2, col: 6 });
    expect(validateTemplate("Hi {{ secret }}", ["contact"])).toMatchObject({ ok: false });
  });

  it("rejects what does not parse, with line and column", () => {
    const res = validateTemplate("Hi {{ contact.first_name ", roots);
    expect(res).toMatchObject({ ok: false, line: 1, col: 4 });
    expect(validateTemplate("{% if contact.x %}open", roots)).toMatchObject({ ok: false, line: 1 });
    expect(validateTemplate("{{ contact.x | nosuchfilter }}", roots)).toMatchObject({ ok: false });
    expect(validateTemplate("{% include 'secrets' %}", roots)).toMatchObject({ ok: false });
    expect(validateTemplate("   ", roots)).toMatchObject({ ok: false });
  });

  it("never throws, whatever the input: a verdict, and a message when it refuses", () => {
    // Liquid-shaped input (plain fc.string at the default size is ~10 characters with no tag in it).
    const token = fc.constantFrom(
      "{{",
      "}}",
      "{%",
      "%}",
      "{%-",
      "-%}",
      "|",
      " ",
      "\n",
      "'",
      '"',
      ".",
      ",",
      ":",
      "=",
      "x",
      "1",
      "contact",
      "contact.first_name",
      "event.x",
      "nosuch.y",
      "upcase",
      "date",
      "if",
      "endif",
      "for",
      "in",
      "endfor",
      "assign",
      "raw",
      "endraw",
      "comment",
      "endcomment",
      "liquid",
      "include",
      "render",
    );
    const source = fc.oneof(
      fc.string({ maxLength: 200, size: "max" }),
      fc.array(token, { maxLength: 60, size: "max" }).map((a) => a.join("")),
    );
    const seen = { accepted: 0, refused: 0 };
    fc.assert(
      fc.property(source, (s) => {
        const r = validateTemplate(s, roots);
        if (r.ok) seen.accepted += 1;
        else {
          seen.refused += 1;
          expect(r.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
    expect(seen.accepted).toBeGreaterThan(10);
    expect(seen.refused).toBeGreaterThan(10);
  });
});

describe("renderTemplate", () => {
  it("fills variables and reports the missing ones, null counting as missing", () => {
    const r = renderTemplate("Hi {{ contact.first_name }} {{ contact.last_name }} #{{ event.order_name }}", {
      contact: { first_name: "Ana", last_name: null },
      event: {},
    });
    expect(r.body).toBe("Hi Ana  #");
    expect(r.missing).toEqual(["contact.last_name", "event.order_name"]);
  });

  it("a default or an if is not missing", () => {
    const r = renderTemplate(
      "Hi {{ contact.first_name | default: 'there' }}{% if contact.attributes.vip %} VIP{% endif %}",
      { contact: { attributes: {} } },
    );
    expect(r).toEqual({ body: "Hi there", missing: [] });
  });

  it("renders instants in the contact's zone and bare dates as that day", () => {
    const tpl = "{{ event.at | date: '%a %b %-d %H:%M' }} / {{ event.day | date: '%a %b %-d' }}";
    const scope = { event: { at: "2026-12-03T03:30:00Z", day: "2026-12-03" } };
    expect(renderTemplate(tpl, scope, { timezone: "America/New_York" }).body).toBe(
      "Wed Dec 2 22:30 / Thu Dec 3",
    );
    expect(renderTemplate(tpl, scope, { timezone: "Europe/Berlin" }).body).toBe(
      "Thu Dec 3 04:30 / Thu Dec 3",
    );
    expect(renderTemplate(tpl, scope).body).toBe("Thu Dec 3 03:30 / Thu Dec 3");
  });

  it("any string value renders verbatim through a plain variable", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (name) => {
        expect(renderTemplate("{{ contact.first_name }}", { contact: { first_name: name } }).body).toBe(name);
      }),
    );
  });
});

describe("default templates", () => {
  it("validate, render personally in GSM-7 and fit one segment (footer included for marketing)", () => {
    const scope = {
      contact: {
        first_name: "Alexandra",
        attributes: { billing_due_date: "2026-12-04" },
      },
      event: { order_name: "#10420", estimated_delivery_at: "2026-12-03" },
      tenant: { brand_name: "Juniper & Rye Co" },
      program: { name: "Default" },
    };
    for (const [kind, d] of Object.entries(KIND_DEFAULTS)) {
      expect(validateTemplate(d.template, roots), kind).toEqual({ ok: true });
      const r = renderTemplate(d.template, scope, { timezone: "America/New_York" });
      expect(r.missing, kind).toEqual([]);
      expect(r.body, kind).toContain("Juniper & Rye Co");
      const footer = d.category === "marketing" ? " Reply STOP to opt out." : "";
      const a = analyzeBody(r.body + footer);
      expect(a.encoding, kind).toBe("GSM-7");
      expect(a.segments, `${kind}: ${r.body}`).toBe(1);
    }
  });
});

/** Templates that burn CPU or emit megabytes whatever the data: refused at write. */
const HOSTILE: Record<string, string> = {
  "a 3,000,000-step loop": "{% for i in (1..3000000) %}{% endfor %}hi",
  "nested loops (CPU)": "{% for i in (1..300) %}{% for j in (1..300) %}{% endfor %}{% endfor %}hi",
  "triple nested loops":
    "{% for i in (1..60) %}{% for j in (1..60) %}{% for k in (1..60) %}{% endfor %}{% endfor %}{% endfor %}",
  "nested loops emitting megabytes":
    "{% for i in (1..900) %}{% for j in (1..900) %}xxxxxxxxxx{% endfor %}{% endfor %}",
  "capture doubling (110 chars, 4 MB)":
    "{%capture s%}x{%endcapture%}{% for i in (1..22) %}{%capture s%}{{s}}{{s}}{%endcapture%}{% endfor %}{{s}}",
  "append doubling":
    "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..22) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}",
  "prepend doubling":
    "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..22) %}{% assign s = s | prepend: s %}{% endfor %}{{ s | size }}",
  "a huge padded date": "{{ 'now' | date: '%999999999d' }}",
  "{% liquid %} loop": "{% liquid\nfor i in (1..1000000)\necho 'x'\nendfor %}",
  "{% liquid %} capture growth":
    "{% liquid\nassign s = 'x'\nfor i in (1..30)\ncapture t\necho s\necho s\nendcapture\nassign s = t\nendfor\necho s | size %}",
  "a body over 1,600 characters": "{% for i in (1..1601) %}x{% endfor %}",
};

describe("Herald's render limits", () => {
  it("the 110-character template really renders 4,194,304 characters without them", () => {
    const source = HOSTILE["capture doubling (110 chars, 4 MB)"] as string;
    expect(source.length).toBeLessThanOrEqual(110);
    expect((new Liquid().parseAndRenderSync(source) as string).length).toBe(4_194_304);
  });

  it.each(Object.entries(HOSTILE))("refuses %s at write (trial render)", (_, source) => {
    const res = validateTemplate(source, roots);
    expect(res.ok).toBe(false);
    if (!res.ok)
      expect(res.message).toMatch(/^trial render with empty data: (exceeds Herald's limits|renders to)/);
  });

  it("stops each within its budget: bounded steps and characters, never megabytes", () => {
    for (const [name, source] of Object.entries(HOSTILE)) {
      if (name === "a body over 1,600 characters") continue; // within the render limits; too long a body
      const budget = new RenderBudget();
      expect(() => renderTemplate(source, {}, { budget }), name).toThrow();
      expect(budget.steps, name).toBeLessThanOrEqual(TEMPLATE_LIMITS.maxSteps + 1);
      expect(budget.allocated, name).toBeLessThanOrEqual(TEMPLATE_LIMITS.maxAllocated);
    }
  });

  it("a loop that only blows up on real data passes the trial render and fails on that data", () => {
    const source = "{% for i in (1..contact.attributes.n) %}x{% endfor %}";
    expect(validateTemplate(source, roots)).toEqual({ ok: true });
    expect(renderBody(source, { contact: { attributes: { n: 3 } } })).toEqual({
      ok: true,
      body: "xxx",
      missing: [],
    });
    const huge = renderBody(source, { contact: { attributes: { n: 3_000_000 } } });
    expect(huge).toEqual({ ok: false, error: expect.stringMatching(/^exceeds Herald's limits: /) });
    const long = renderBody(source, { contact: { attributes: { n: 1_700 } } });
    expect(long).toEqual({ ok: false, error: "renders to 1,700 characters; a message is at most 1,600" });
  });

  it("event data cannot make a loop or an output unbounded", () => {
    const items = Array.from({ length: 1_000 }, (_, i) => i);
    const nested = "{% for a in event.items %}{% for b in event.items %}{% endfor %}{% endfor %}ok";
    expect(renderBody(nested, { event: { items } })).toMatchObject({ ok: false });
    expect(renderBody("{{ event.big }}", { event: { big: "x".repeat(200_000) } })).toMatchObject({
      ok: false,
    });
    expect(
      renderBody("{{ event.big | upcase | size }}", { event: { big: "x".repeat(200_000) } }),
    ).toMatchObject({
      ok: false,
    });
  });

  it("ordinary templates are far inside the limits", () => {
    const source =
      "Hi {{ contact.first_name | default: 'there' }}, your items: {% for i in event.items %}{{ i.name }}{% unless forloop.last %}, {% endunless %}{% endfor %}.";
    const items = Array.from({ length: 50 }, (_, i) => ({ name: `item ${i}` }));
    const budget = new RenderBudget();
    const r = renderTemplate(source, { contact: { first_name: "Ana" }, event: { items } }, { budget });
    expect(r.body).toMatch(/^Hi Ana, your items: item 0, item 1, .* item 49\.$/);
    expect(budget.steps).toBeLessThan(TEMPLATE_LIMITS.maxSteps / 10);
    expect(budget.allocated).toBeLessThan(TEMPLATE_LIMITS.maxAllocated / 10);
  });

  it("refuses templates longer than 2,000 characters", () => {
    expect(validateTemplate("x".repeat(2_000), roots)).toMatchObject({ ok: false }); // renders past 1,600
    expect(validateTemplate(`{% comment %}${"x".repeat(1_990)}{% endcomment %}hi`, roots)).toEqual({
      ok: false,
      message: "must be at most 2,000 characters",
    });
    expect(validateTemplate(`{% comment %}${"x".repeat(1_900)}{% endcomment %}hi`, roots)).toEqual({
      ok: true,
    });
  });
});

describe("file tags", () => {
  it.each([
    ["{% include 'secrets' %}", "include"],
    ["{%- include 'secrets' -%}", "include"],
    ["{% render 'secrets' %}", "render"],
    ["{% layout 'base' %}hi", "layout"],
    ["{% liquid render 'secrets' %}", "render"],
    ["{% liquid include 'secrets' %}", "include"],
    ["{% liquid\n  assign x = 1\n  include contact.first_name\n%}", "include"],
    ["{% if contact.x %}{% liquid render 'a', b: 1 %}{% endif %}", "render"],
  ])("refuses %s (a 422, never a throw)", (source, tag) => {
    let res: ReturnType<typeof validateTemplate> | undefined;
    expect(() => {
      res = validateTemplate(source, roots);
    }).not.toThrow();
    expect(res).toMatchObject({
      ok: false,
      message: `the ${tag} tag is not available: templates cannot load other files`,
    });
  });
});

describe("RenderBudget", () => {
  it("counts steps and allocations and keeps the first limit that tripped", () => {
    const b = new RenderBudget({ maxSteps: 3, maxAllocated: 10, maxMs: 60_000 });
    b.step();
    b.step();
    b.step();
    expect(() => b.step()).toThrow(TemplateLimitError);
    expect(b.tripped?.limit).toBe("steps");
    expect(() => b.allocate(1)).toThrow(/rendering steps/);
    const c = new RenderBudget({ maxSteps: 100, maxAllocated: 10, maxMs: 60_000 });
    c.allocate(4);
    c.allocate(0);
    c.allocate(-5);
    c.allocate(6);
    expect(() => c.allocate(1)).toThrow(/more than 10 characters/);
    expect(c.tripped?.limit).toBe("allocated");
  });

  it("keeps a clock as a backstop only", () => {
    const b = new RenderBudget({ maxSteps: 100, maxAllocated: 100, maxMs: 5 }, Date.now() - 10);
    expect(() => b.step()).toThrow(/longer than 5 ms/);
    expect(b.tripped?.limit).toBe("time");
  });
});

describe("exceedsBodyLimit", () => {
  it("counts code points, 1,600 at most", () => {
    expect(exceedsBodyLimit("x".repeat(1_600))).toBe(false);
    expect(exceedsBodyLimit("x".repeat(1_601))).toBe(true);
    expect(exceedsBodyLimit("😀".repeat(1_600))).toBe(false);
    expect(exceedsBodyLimit("😀".repeat(1_601))).toBe(true);
  });
});
