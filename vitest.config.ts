import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  // The real migrations, applied to every test file's isolated D1 by test/setup.ts.
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.jsonc" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_TOKEN: "test-admin-token",
            ENCRYPTION_KEY: "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy1sb24=",
            ENVIRONMENT: "development",
            PUBLIC_BASE_URL: "https://herald.test",
          },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/setup.ts"],
      include: ["test/**/*.test.ts"],
      // Logs (the scheduler logs a JSON line per tick) are shown for failing tests only.
      silent: "passed-only",
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
