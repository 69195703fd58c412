// Writes openapi.json from the routes (`npm run openapi`); `--check` fails when the committed file is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { createApp, openApiDocument } from "../src/app";

const text = `${JSON.stringify(openApiDocument(createApp()), null, 2)}\n`;
if (process.argv.includes("--check")) {
  let committed = "";
  try {
    committed = readFileSync("openapi.json", "utf8");
  } catch {}
  if (committed !== text) {
    console.error("openapi.json is stale: run `npm run openapi` and commit the result.");
    process.exit(1);
  }
  console.log("openapi.json is up to date.");
} else {
  writeFileSync("openapi.json", text);
  console.log(
    `openapi.json written (${Object.keys((JSON.parse(text) as { paths: object }).paths).length} paths).`,
  );
}
