import { describe, expect, it } from "vitest";

/**
 * Routes get their services from the request (`c.var.services`, `c.var.baseServices`: built once
 * by middleware/services.ts and requireApiKey), never by hand: no route imports the database client
 * or builds a service context. Work outside a request (queues, cron, hook processing) may.
 */
const routeFiles = import.meta.glob("../../src/routes/**/*.ts", {
  query: "?raw",
  import: "default",
  eager: true,
});

const forbidden: { what: string; pattern: RegExp }[] = [
  { what: "imports the database client (db/client)", pattern: /from\s+["'][^"']*\/db\/client["']/ },
  { what: "creates a database handle (createDb)", pattern: /\bcreateDb\s*\(/ },
  { what: "builds a service context (serviceContext)", pattern: /\bserviceContext\s*\(/ },
  { what: "builds a service context (baseContext / forTenant)", pattern: /\b(baseContext|forTenant)\s*\(/ },
];

describe("architecture: routes read services from the request", () => {
  it("finds the route files", () => {
    const names = Object.keys(routeFiles);
    expect(names).toContain("../../src/routes/contacts/index.ts");
    expect(names).toContain("../../src/routes/tenants/index.ts");
    expect(names.length).toBeGreaterThan(20);
  });

  it("no file under src/routes imports db/client or builds a service context", () => {
    const offences = Object.entries(routeFiles).flatMap(([file, text]) =>
      forbidden.filter((f) => f.pattern.test(text)).map((f) => `${file.replace("../../", "")} ${f.what}`),
    );
    expect(offences).toEqual([]);
  });
});
