// Running the `meshaid` command as a user does: a child process of src/cli/bin.js.
import { spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";

export const MESHAID_BIN = new URL("../../src/cli/bin.js", import.meta.url).pathname;

export interface MeshaidProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything written so far. */
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts `meshaid ARGS` (stdin not a terminal) and collects its output. */
export function spawnMeshaid(args: string[]): MeshaidProcess {
  const child = spawn(process.execPath, [MESHAID_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => {
      // A process ended by a signal has no exit code: say which signal, for the failure message.
      if (signal) stderr += `[meshaid ended by ${signal}]\n`;
      resolve(code);
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** Runs `meshaid ARGS` to the end. */
export function runMeshaid(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [MESHAID_BIN, ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
