// Pseudo-terminals made by socat (on the PATH; Debian: apt-get install socat): a pty pair, so
// serial code runs over serialport's native bindings exactly as on a USB radio; and `meshaid`
// run in a terminal, so the Ink console is drawn, read and typed at as a person would.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { expect } from "vitest";
import { MESHAID_BIN } from "./cli.ts";

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


/** `meshaid` running in a real terminal. */
export interface MeshaidTerminal {
  /** Everything drawn so far, escape codes included; after the command ends, `meshaid-exit=N`. */
  screen(): string;
  /** Types keys at the terminal. */
  type(keys: string): void;
  /** The terminal's end (the shell's exit code: 0 once `meshaid` has quit and the shell printed its code). */
  exit: Promise<number | null>;
  exited(): boolean;
  /** The error again, with the last of the screen as text: where it stopped. */
  explain(error: unknown): Error;
  /** Closes the terminal (kills what still runs in it). */
  kill(): void;
}

/**
 * Runs `meshaid ARGS` under a pty (socat's SYSTEM address with pty, setsid, ctty) sized with
 * stty, and prints `meshaid-exit=<code>` when it ends. CI and CONTINUOUS_INTEGRATION are removed
 * from its environment: with either set, Ink draws only the last frame, and a person at this
 * terminal would see nothing until quitting.
 */
export function meshaidInTerminal(args: string[], size: { cols: number; rows: number } = { cols: 80, rows: 24 }): MeshaidTerminal {
  // socat's address syntax ends the command at a comma and reads quotes and colons: keep arguments plain.
  for (const arg of args) if (!/^[\w./@=+-]+$/.test(arg)) throw new Error(`meshaidInTerminal: argument ${JSON.stringify(arg)} needs quoting socat cannot pass`);
  const command = `stty cols ${size.cols} rows ${size.rows}; ${process.execPath} ${MESHAID_BIN} ${args.join(" ")}; echo meshaid-exit=$?`;
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: "xterm-256color" };
  delete env["CI"];
  delete env["CONTINUOUS_INTEGRATION"];
  const socat = spawn("socat", ["-", `SYSTEM:${command},pty,setsid,ctty,stderr`], { stdio: ["pipe", "pipe", "pipe"], env });
  let screen = "";
  let exited = false;
  socat.stdout.on("data", (chunk: Buffer) => (screen += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => {
    socat.once("exit", (code) => {
      exited = true;
      resolve(code);
    });
    socat.once("error", (error) => {
      screen += `\n(cannot run socat: ${error.message}; install it: apt-get install socat)`;
      exited = true;
      resolve(null);
    });
  });
  return {
    screen: () => screen,
    type: (keys) => void socat.stdin.write(keys),
    exit,
    exited: () => exited,
    explain: (error) => new Error(`${(error as Error).message}\n--- screen (last 1500 chars) ---\n${stripVTControlCharacters(screen).slice(-1500)}`, { cause: error }),
    kill: () => void socat.kill("SIGKILL"),
  };
}
