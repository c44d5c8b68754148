// `npm test`: everything that needs nothing outside npm.
import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

export default defineConfig({
  root: fileURLToPath(new URL("..", import.meta.url)),
  test: {
    include: ["test/**/*.test.{ts,tsx}"],
    exclude: ["test/system/**", "node_modules/**"],
    testTimeout: 20_000,
    globalSetup: ["test/helpers/compile-once.ts"],
  },
});
