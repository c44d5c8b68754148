// `npm run test:system`: real parts (socat pty pairs with serialport's native bindings, and later
// a real Mosquitto), run by .ci/run after `npm test`.
import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

export default defineConfig({
  root: fileURLToPath(new URL("..", import.meta.url)),
  test: {
    include: ["test/system/**/*.test.{ts,tsx}"],
    testTimeout: 60_000,
    globalSetup: ["test/helpers/compile-once.ts"],
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
