// A pseudo-terminal pair made by socat, so serial code runs over serialport's native bindings
// exactly as on a USB radio. Needs socat on the PATH (Debian: apt-get install socat).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";

export interface PtyPair {
  host: string;
  device: string;
  stop(): Promise<void>;
}

/** Starts `socat` joining two ptys, and waits until both links exist. */
export async function ptyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), "meshaid-pty-"));
  const host = join(dir, "host");
  const device = join(dir, "device");
  const socat: ChildProcess = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${device}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  socat.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  let exited = false;
  let spawnError: Error | undefined;
  const exit = new Promise<void>((resolve) => {
    socat.once("exit", () => {
      exited = true;
      resolve();
    });
    socat.once("error", (error) => {
      spawnError = error;
      exited = true;
      resolve();
    });
  });
  await expect
    .poll(
      () => {
        if (spawnError) throw new Error(`cannot run socat (${spawnError.message}); install it: apt-get install socat`);
        if (exited) throw new Error(`socat exited early: ${stderr}`);
        return existsSync(host) && existsSync(device);
      },
      { timeout: 10_000, interval: 10 },
    )
    .toBe(true);
  return {
    host,
    device,
    async stop() {
      if (!exited) socat.kill("SIGTERM");
      await exit;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

