import { afterEach, beforeEach } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temporary directory and a function that removes it. */
export async function tempDir(prefix = "meshaid-test-"): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * A fresh temporary directory for each test of the calling `describe`, removed after it.
 * Read `.path` inside tests (it changes per test).
 */
export function useTempDir(prefix?: string): { readonly path: string } {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  beforeEach(async () => {
    dir = await tempDir(prefix);
  });
  afterEach(async () => {
    await dir?.remove();
    dir = undefined;
  });
  return {
    get path(): string {
      if (!dir) throw new Error("useTempDir().path is only there inside a test");
      return dir.path;
    },
  };
}
