// Invariants 1 and 2 under kill -9, again and again: a station (a child process, the database
// opened as `meshaid start` opens it) is killed 20 times at random moments while records stream
// in, some of them heard again after each restart (retransmissions, relays). At the end every
// record ever acknowledged is in the store, once. Prints the figures for the issue note.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { RecordStore } from "../../src/store/index.ts";
import { codebook } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const CHILD = fileURLToPath(new URL("./station-crash-child.ts", import.meta.url));
const TEXTS = ["NEED WATER", "INJURED 1", "ON SHIFT", "OK", "need 10 gauze @ north gate asap"];
const KILLS = 20;

/** Packet i from one of 40 senders. */
const packet = (i: number): string => `${0x1000 + (i % 40)} ${i * 4} ${TEXTS[i % TEXTS.length]}`;

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function start(dir: string): { child: ChildProcess; acked: string[]; ready: Promise<void>; exited: Promise<void> } {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir], { stdio: ["pipe", "pipe", "inherit"] });
  const acked: string[] = [];
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line === "READY") markReady();
    else if (line.startsWith("ACK ")) acked.push(line.slice(4));
  });
  child.stdin.on("error", () => undefined); // writes racing the kill
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return { child, acked, ready, exited };
}

describe("station under repeated kill -9", () => {
  const dir = useTempDir();

  it(`keeps every acknowledged record, none twice, across ${KILLS} kills at random moments`, async () => {
    const random = mulberry32(Number(process.env["CRASH_SEED"] ?? 20261125));
    const acknowledged = new Set<string>();
    let ackLines = 0;
    let next = 0;
    const began = Date.now();
    for (let run = 0; run < KILLS; run += 1) {
      const station = start(dir.path);
      await station.ready;
      // Hear some of the old packets again, then new ones, in bursts, and kill after a random
      // number of acknowledgements (anywhere from none to a few thousand), mid-burst.
      const killAfter = Math.floor(random() * 1000);
      const replay = Array.from({ length: 200 }, () => Math.floor(random() * Math.max(1, next)));
      const lines = [...replay.map(packet)];
      while (station.acked.length <= killAfter && station.child.exitCode === null) {
        for (let k = 0; k < 200; k += 1, next += 1) lines.push(packet(next));
        station.child.stdin!.write(`${lines.join("\n")}\n`);
        lines.length = 0;
        // Keep a burst in flight, not the whole test's worth: the kill lands mid-ingest.
        const target = station.acked.length + 100;
        await expect.poll(() => station.acked.length >= Math.min(target, killAfter + 1) || station.child.exitCode !== null, { timeout: 20_000, interval: 2 }).toBe(true);
      }
      station.child.kill("SIGKILL");
      await station.exited;
      ackLines += station.acked.length;
      for (const id of station.acked) {
        expect(acknowledged.has(id), `record ${id} acknowledged twice (once before a restart)`).toBe(false);
        acknowledged.add(id);
      }
    }
    const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    const stored = new Set<string>();
    let entries = 0;
    for await (const page of store.all()) for (const record of page) {
      entries += 1;
      stored.add(`${record.id.origin} ${record.id.seq}`);
    }
    const missing = [...acknowledged].filter((id) => !stored.has(id));
    expect(missing).toEqual([]);
    expect(entries).toBe(stored.size);
    expect(store.count).toBe(stored.size);
    expect((await store.recent(10_000_000)).length).toBe(stored.size);
    await store.close();
    process.stdout.write(
      `kill -9 x${KILLS}: ${next} packets sent, ${acknowledged.size} records acknowledged (${ackLines} ack lines), ${stored.size} stored, 0 lost, 0 twice, ${((Date.now() - began) / 1000).toFixed(1)} s\n`,
    );
  }, 900_000);
});
