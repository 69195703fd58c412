import { describe, expect, it } from "vitest";
import { call } from "../helpers/api";

/** The page as a browser with JavaScript renders it: `<noscript>` content is not part of it. */
const scripted = (html: string) => html.replace(/<noscript\b[\s\S]*?<\/noscript>/gi, "");
const attr = (tag: string, name: string) => new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, "i").exec(tag)?.[1];

describe("/docs (the API reference page)", () => {
  it("is an HTML page whose script and stylesheet the Worker itself serves (no CDN)", async () => {
    const docs = await call("GET", "/docs", { unchecked: true });
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toMatch(/^text\/html\b/);
    const page = scripted(docs.text);

    const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    const styles = [...page.matchAll(/<link\b[^>]*>/gi)]
      .map((m) => m[0])
      .filter((tag) => /\brel\s*=\s*"stylesheet"/i.test(tag));
    expect(styles.length).toBeGreaterThan(0);
    // Nothing loads from another origin: no scheme, no protocol-relative URL, anywhere in the page.
    expect(page).not.toMatch(/\b(?:src|href)\s*=\s*"(?:[a-z][a-z0-9+.-]*:|\/\/)/i);

    const assets: [string, RegExp][] = [];
    for (const [, attrs = "", inline = ""] of scripts) {
      // The CSP allows 'self' scripts only, so an inline script would not run: each one has a src.
      expect(inline.trim()).toBe("");
      const src = attr(`<script ${attrs}>`, "src");
      expect(src).toMatch(/^\/[^/]/);
      assets.push([src ?? "", /^(?:text|application)\/javascript\b/]);
    }
    for (const tag of styles) {
      const href = attr(tag, "href");
      expect(href).toMatch(/^\/[^/]/);
      assets.push([href ?? "", /^text\/css\b/]);
    }
    for (const [url, type] of assets) {
      const res = await call("GET", url, { unchecked: true });
      expect(res.status, url).toBe(200);
      expect(res.headers.get("content-type"), url).toMatch(type);
      expect(res.text.length, url).toBeGreaterThan(100);
      expect(res.text, url).not.toMatch(/https?:\/\/|\bimport\s*\(|@import/);
    }
  });

  it("loads /openapi.json from the same Worker, and that document is served", async () => {
    const docs = await call("GET", "/docs", { unchecked: true });
    const page = scripted(docs.text);
    // The page's script reads the spec URL from an element of the rendered page (not <noscript>).
    const src = attr(/<script\b[^>]*>/i.exec(page)?.[0] ?? "", "src") ?? "";
    const js = (await call("GET", src, { unchecked: true })).text;
    const id = /getElementById\("([^"]+)"\)/.exec(js)?.[1];
    expect(id).toBeDefined();
    const root = new RegExp(`<[a-z]+\\b[^>]*\\bid="${id}"[^>]*>`, "i").exec(page)?.[0] ?? "";
    expect(root).not.toBe("");
    expect(js).toMatch(/fetch\(\s*\w+\.dataset\.url\s*\)/);
    expect(attr(root, "data-url")).toBe("/openapi.json");

    const spec = await call<{ openapi: string; paths: Record<string, unknown> }>("GET", "/openapi.json", {
      unchecked: true,
    });
    expect(spec.status).toBe(200);
    expect(spec.headers.get("content-type")).toContain("application/json");
    expect(spec.body.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.body.paths).length).toBeGreaterThan(10);
  });
});
