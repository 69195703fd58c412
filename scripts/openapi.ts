// Writes openapi.json from the routes (`npm run openapi`); `--check` fails when the committed file is
// stale or when the document is not a valid OpenAPI 3.1 document (checked by swagger-parser, the
// validator clients' tooling uses).
import { readFileSync, writeFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import { createApp, openApiDocument } from "../src/app";

const text = `${JSON.stringify(openApiDocument(createApp()), null, 2)}\n`;

async function validate(): Promise<void> {
  try {
    // A fresh copy: the validator dereferences the document it is given in place.
    await SwaggerParser.validate(JSON.parse(text));
  } catch (err) {
    console.error(`openapi.json is not a valid OpenAPI document:\n${(err as Error).message}`);
    process.exit(1);
  }
}

if (process.argv.includes("--check")) {
  let committed = "";
  try {
    committed = readFileSync("openapi.json", "utf8");
  } catch {}
  if (committed !== text) {
    console.error("openapi.json is stale: run `npm run openapi` and commit the result.");
    process.exit(1);
  }
  await validate();
  console.log("openapi.json is up to date and valid.");
} else {
  await validate();
  writeFileSync("openapi.json", text);
  console.log(
    `openapi.json written (${Object.keys((JSON.parse(text) as { paths: object }).paths).length} paths).`,
  );
}
