// Invariant 1 and 2 under kill -9: a station (a child process) is killed while records stream in;
// after a restart, every record it acknowledged is in the store, and none is stored twice.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Level } from "level";
import { RecordStore } from "../../src/store/index.ts";
import { codebook } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const CHILD = fileURLToPath(new URL("./station-crash-child.ts", import.meta.url));
const TEXTS = ["NEED WATER", "INJURED 1", "ON SHIFT", "OK"];

interface Child {
  process: ChildProcess;
  acked: Set<string>;
  /** Resolves at the next acknowledgement. */
  nextAck: () => Promise<void>;
  ready: Promise<void>;
  exited: Promise<number | null>;
}

function startChild(dir: string): Child {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir], { stdio: ["pipe", "pipe", "inherit"] });
  const acked = new Set<string>();
  let waiters: Array<() => void> = [];
  const nextAck = (): Promise<void> => new Promise((resolve) => waiters.push(resolve));
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line === "READY") markReady();
    else if (line.startsWith("ACK ")) {
      acked.add(line.slice(4));
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { process: child, acked, nextAck, ready, exited };
}

/** Packet i: 40 senders, and every packet is heard twice (a relay). */
function packet(i: number): string {
  return `${0x1000 + (i % 40)} ${i} ${TEXTS[i % TEXTS.length]}`;
}

describe("station under kill -9", () => {
  const dir = useTempDir();

  it("keeps every acknowledged record, none twice, across a kill -9 while records stream in and a restart", async () => {
    const first = startChild(dir.path);
    await first.ready;
    // Stream packets until a good number are acknowledged, then kill without warning.
    let sent = 0;
    const stdin = first.process.stdin!;
    while (first.acked.size < 2_000) {
      const lines: string[] = [];
      for (let k = 0; k < 200; k += 1, sent += 1) lines.push(packet(sent), packet(sent));
      const acked = first.nextAck();
      if (!stdin.write(`${lines.join("\n")}\n`)) await new Promise((resolve) => stdin.once("drain", resolve));
      await acked;
    }
    first.process.kill("SIGKILL");
    await first.exited;
    const acknowledged = new Set(first.acked);
    expect(acknowledged.size).toBeGreaterThanOrEqual(2_000);

    const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    const stored = new Set<string>();
    let entries = 0;
    for await (const page of store.all()) {
      for (const record of page) {
        entries += 1;
        stored.add(`${record.id.origin} ${record.id.seq}`);
      }
    }
    for (const id of acknowledged) expect(stored.has(id)).toBe(true);
    expect(entries).toBe(stored.size);
    expect(store.count).toBe(stored.size);
    expect((await store.recent(1_000_000)).length).toBe(stored.size);
    await store.close();

    // Restart and hear everything again (retransmissions, relays): nothing new is stored twice.
    const second = startChild(dir.path);
    await second.ready;
    const lines: string[] = [];
    for (let i = 0; i < sent; i += 1) lines.push(packet(i));
    second.process.stdin!.end(`${lines.join("\n")}\n`);
    expect(await second.exited).toBe(0);
    expect([...second.acked].filter((id) => stored.has(id))).toEqual([]);
    const reopened = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    expect(reopened.count).toBe(sent);
    await reopened.close();
  });
});
