/**
 * The interactive API reference at /docs, served by the Worker itself (no CDN): a page, a script
 * and a stylesheet from the same origin, so its Content-Security-Policy can be `'self'` only. The
 * script reads /openapi.json, lists every operation by tag with its parameters, body and responses,
 * and sends a request with the API key typed into the page (kept in memory only).
 */

export const docsPage = (specUrl: string): string => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Herald API reference</title>
  <link rel="stylesheet" href="/docs/docs.css" />
</head>
<body>
  <header><h1>Herald API reference</h1>
    <label>API key <input id="api-key" type="password" autocomplete="off" placeholder="hk_live_…" /></label>
    <a href="${specUrl}">openapi.json</a></header>
  <noscript>The interactive reference needs JavaScript. The raw document is at <a href="${specUrl}">${specUrl}</a>.</noscript>
  <main id="api-reference" data-url="${specUrl}">Loading…</main>
  <script src="/docs/docs.js"></script>
</body>
</html>`;

export const DOCS_CSS = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330}
header{display:flex;gap:1rem;align-items:center;padding:.75rem 1.5rem;background:#1d2330;color:#fff;flex-wrap:wrap}
header h1{font-size:1.1rem;margin:0;flex:1}header a{color:#9cf}main{padding:1rem 1.5rem;max-width:70rem}
h2{border-bottom:1px solid #ddd;padding-bottom:.25rem}details{border:1px solid #ddd;border-radius:6px;margin:.5rem 0;padding:.25rem .75rem}
summary{cursor:pointer}.m{display:inline-block;width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#1a7f37}.post{color:#0550ae}.patch{color:#9a6700}.delete{color:#cf222e}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:24rem}textarea{width:100%;min-height:6rem;font:13px monospace}
input{font:inherit}table{border-collapse:collapse}td{padding:.15rem .5rem;vertical-align:top}`;

export const DOCS_JS = `"use strict";
(async () => {
  const root = document.getElementById("api-reference");
  const el = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    for (const k of kids) e.append(k);
    return e;
  };
  const spec = await (await fetch(root.dataset.url)).json();
  const resolve = (s) => (s && s.$ref ? spec.components.schemas[s.$ref.split("/").pop()] : s);
  const example = (s, depth = 0) => {
    s = resolve(s) || {};
    if (s.example !== undefined) return s.example;
    if (depth > 6) return null;
    if (s.anyOf || s.oneOf) return example((s.anyOf || s.oneOf)[0], depth + 1);
    if (s.type === "object" || s.properties) {
      const o = {};
      for (const [k, v] of Object.entries(s.properties || {})) if ((s.required || []).includes(k)) o[k] = example(v, depth + 1);
      return o;
    }
    if (s.type === "array") return [example(s.items, depth + 1)];
    return s.type === "string" ? "" : s.type === "boolean" ? false : s.type === "integer" || s.type === "number" ? 0 : null;
  };
  root.textContent = "";
  root.append(el("p", {}, spec.info.description || ""));
  const byTag = new Map();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || "Other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op });
    }
  }
  for (const [tag, ops] of byTag) {
    root.append(el("h2", {}, tag));
    for (const { path, method, op } of ops) {
      const d = el("details", { id: op.operationId || "" });
      d.append(el("summary", {}, el("span", { class: "m " + method }, method), path, " — ", op.summary || ""));
      if (op.description) d.append(el("p", {}, op.description));
      const params = op.parameters || [];
      const inputs = {};
      if (params.length) {
        const t = el("table");
        for (const p of params) {
          const input = el("input", { placeholder: String((p.schema && p.schema.example) ?? p.example ?? "") });
          inputs[p.in + ":" + p.name] = input;
          t.append(el("tr", {}, el("td", {}, p.name + " (" + p.in + ")"), el("td", {}, input), el("td", {}, p.description || (p.schema && p.schema.description) || "")));
        }
        d.append(el("h4", {}, "Parameters"), t);
      }
      const bodySchema = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
      let body;
      if (bodySchema) {
        body = el("textarea");
        body.value = JSON.stringify(example(bodySchema.schema), null, 2);
        d.append(el("h4", {}, "Body"), body);
      }
      const codes = Object.entries(op.responses || {}).map(([code, r]) => code + " " + (r.description || ""));
      d.append(el("h4", {}, "Responses"), el("p", {}, codes.join(" · ")));
      const out = el("pre");
      const send = el("button", { type: "button" }, "Send");
      send.addEventListener("click", async () => {
        let url = path;
        const query = new URLSearchParams();
        const headers = {};
        for (const p of params) {
          const v = inputs[p.in + ":" + p.name].value;
          if (!v) continue;
          if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(v));
          else if (p.in === "query") query.set(p.name, v);
          else if (p.in === "header") headers[p.name] = v;
        }
        const key = document.getElementById("api-key").value;
        if (key) headers.authorization = "Bearer " + key;
        const init = { method: method.toUpperCase(), headers };
        if (body && body.value.trim()) {
          headers["content-type"] = "application/json";
          init.body = body.value;
        }
        const q = query.toString();
        out.textContent = "…";
        const res = await fetch(url + (q ? "?" + q : ""), init);
        const text = await res.text();
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch {}
        out.textContent = res.status + " " + res.statusText + "\\n\\n" + shown;
      });
      d.append(send, out);
      root.append(d);
    }
  }
})().catch((err) => {
  document.getElementById("api-reference").textContent = "Could not load the API reference: " + err;
});
`;
