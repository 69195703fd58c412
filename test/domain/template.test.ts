import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyzeBody } from "../../src/domain/encoding";
import { PROGRAM_TEMPLATE_ROOTS, renderTemplate, validateTemplate } from "../../src/domain/template";
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

  it("never throws, whatever the input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const r = validateTemplate(s, roots);
        expect(typeof r.ok).toBe("boolean");
      }),
    );
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
