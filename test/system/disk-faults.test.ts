// A full disk and a read-only data folder, for real: a small tmpfs mounted for the test (the
// tests run as root, and root ignores chmod, so a read-only mount and a full file system are the
// honest way to make writes fail). When mounting is not permitted here, the tests are skipped and
// say why.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { RecordStore } from "../../src/store/index.ts";
import { runMeshaid } from "../helpers/cli.ts";
import { codebook } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const CHILD = fileURLToPath(new URL("./station-crash-child.ts", import.meta.url));

function mountable(): boolean {
  const probe = join(process.env["TMPDIR"] ?? "/tmp", `meshaid-mount-probe-${process.pid}`);
  mkdirSync(probe, { recursive: true });
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe]).status === 0;
  if (mounted) spawnSync("umount", [probe]);
  rmSync(probe, { recursive: true, force: true });
  return mounted;
}
const CAN_MOUNT = mountable();

function mountTmpfs(path: string, size: string): void {
  mkdirSync(path, { recursive: true });
  const run = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", path], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`mount failed: ${run.stderr}`);
}

interface Station {
  process: ChildProcess;
  acked: Set<string>;
  skipped: string[];
  ready: Promise<void>;
  exited: Promise<number | null>;
}

function startStation(db: string): Station {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, db], { stdio: ["pipe", "pipe", "inherit"] });
  const station: Station = { process: child, acked: new Set(), skipped: [], ready: Promise.resolve(), exited: Promise.resolve(null) };
  let markReady: () => void = () => undefined;
  station.ready = new Promise((resolve) => (markReady = resolve));
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line === "READY") markReady();
    else if (line.startsWith("ACK ")) station.acked.add(line.slice(4));
    else if (line.startsWith("SKIP ")) station.skipped.push(line.slice(5));
  });
  station.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  return station;
}

const TEXTS = ["NEED WATER", "INJURED 1", "ON SHIFT", "OK"];
const packet = (i: number): string => `${0x1000 + (i % 40)} ${i} ${TEXTS[i % TEXTS.length]}`;

describe.skipIf(!CAN_MOUNT)("disk faults (tmpfs mounts; skipped where mount is not permitted)", () => {
  const dir = useTempDir();
  const mounts: string[] = [];
  afterEach(() => {
    for (const path of mounts.splice(0)) spawnSync("umount", ["-l", path]);
  });

  it("with the disk full, acknowledges nothing it could not write, names the folder, and goes on once there is space", async () => {
    const mnt = join(dir.path, "mnt");
    mountTmpfs(mnt, "4m");
    mounts.push(mnt);
    const db = join(mnt, "db");
    const filler = join(mnt, "filler");
    const station = startStation(db);
    await station.ready;
    // Leave about 300 KB: a few thousand records, then the disk is full.
    const { bavail, bsize } = statfsSync(mnt);
    writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 300 * 1024)));
    let sent = 0;
    const send = async (count: number): Promise<void> => {
      const lines: string[] = [];
      for (let k = 0; k < count; k += 1, sent += 1) lines.push(packet(sent));
      station.process.stdin!.write(`${lines.join("\n")}\n`);
      await expect.poll(() => station.acked.size + station.skipped.length, { timeout: 20_000, interval: 20 }).toBeGreaterThanOrEqual(sent);
    };
    while (station.skipped.length === 0 && sent < 200_000) await send(500);
    expect(station.skipped.length).toBeGreaterThan(0);
    expect(station.skipped[0]).toContain(`cannot write to the database ${db}`);
    expect(station.skipped[0]).toMatch(/No space left on device/);
    const ackedWhileFull = station.acked.size;
    const failed = station.skipped.length;

    // Space comes back (the operator deletes something): the station stores again, no restart.
    rmSync(filler);
    const before = sent;
    await send(500);
    expect(station.acked.size).toBeGreaterThan(ackedWhileFull);
    station.process.stdin!.end();
    expect(await station.exited).toBe(0);

    const store = await RecordStore.open(new Level<string, Uint8Array>(db, { valueEncoding: "view" }), codebook);
    const stored = new Set<string>();
    let entries = 0;
    for await (const page of store.all()) for (const record of page) {
      entries += 1;
      stored.add(`${record.id.origin} ${record.id.seq}`);
    }
    await store.close();
    for (const id of station.acked) expect(stored.has(id)).toBe(true);
    expect(entries).toBe(stored.size);
    expect(stored.size).toBe(station.acked.size); // nothing stored that was not acknowledged, nothing twice
    process.stdout.write(`disk full: ${before} packets before space came back, ${ackedWhileFull} stored, ${failed} refused with the folder named; ${station.acked.size - ackedWhileFull} stored after\n`);
  }, 120_000);

  it("refuses to start on a read-only data folder with one line naming it", () => {
    const mnt = join(dir.path, "ro");
    mountTmpfs(mnt, "1m");
    mounts.push(mnt);
    mkdirSync(join(mnt, "data"));
    expect(spawnSync("mount", ["-o", "remount,ro", mnt]).status).toBe(0);
    const run = runMeshaid(["start", "--db", join(mnt, "data")]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([`meshaid: cannot write in the data folder ${join(mnt, "data")} (it is on a read-only file system): make it writable, free some space, or choose another folder with --db`]);
  });
});
