// `meshaid start --encrypt` and `meshaid wipe` as a user runs them (child processes, a simulated
// mesh, LevelDB on disk). A system test: each start is a child process of a few seconds.
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runMeshaid, spawnMeshaid, type MeshaidProcess } from "../helpers/cli.ts";
import { useTempDir } from "../helpers/tmp.ts";

const RECORD_LINE = /^\S+Z (M1|M2|K1) (supply_request|incident|shift|checkin) .+$/m;

describe("meshaid start --encrypt, meshaid wipe", () => {
  const dir = useTempDir();
  const running: MeshaidProcess[] = [];
  afterEach(() => {
    for (const run of running.splice(0)) run.child.kill("SIGKILL");
  });

  async function runUntilRecord(args: string[]): Promise<string> {
    const run = spawnMeshaid(["start", "--db", dir.path, ...args]);
    running.push(run);
    await expect.poll(run.stdout, { timeout: 20_000, interval: 100 }).toMatch(RECORD_LINE);
    run.child.kill("SIGINT");
    expect(await run.exit).toBe(0);
    return run.stdout();
  }

  it("stores records encrypted, asks for the key on every start, and wipe leaves nothing", async () => {
    const keyFile = join(dir.path, "..", `${dir.path.split("/").at(-1)}.pass`);
    writeFileSync(keyFile, "a long field passphrase\n");
    const first = await runUntilRecord(["--encrypt", "--key-file", keyFile]);
    expect(first).toContain("records are stored encrypted");
    expect(existsSync(join(dir.path, "keys", "store-key.json"))).toBe(true);
    const heard = first.match(RECORD_LINE)![0];

    const plain = runMeshaid(["start", "--db", dir.path]);
    expect(plain.status).toBe(1);
    expect(plain.stderr.trim()).toMatch(/^meshaid: the store in .* is encrypted .*: start with --encrypt/);
    const wrongFile = `${keyFile}.wrong`;
    writeFileSync(wrongFile, "not the passphrase\n");
    const wrong = runMeshaid(["start", "--db", dir.path, "--encrypt", "--key-file", wrongFile]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr.trim()).toMatch(/^meshaid: wrong passphrase for this store/);

    const second = await runUntilRecord(["--encrypt", "--key-file", keyFile]);
    expect(second).toContain(heard); // the earlier record, read back with the key

    // A running station is not wiped under its feet.
    const live = spawnMeshaid(["start", "--db", dir.path, "--encrypt", "--key-file", keyFile]);
    running.push(live);
    await expect.poll(live.stdout, { timeout: 20_000 }).toContain("radio: connected");
    const busy = runMeshaid(["wipe", "--db", dir.path, "--yes"]);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toContain("is in use: stop the station first");
    live.child.kill("SIGINT");
    await live.exit;

    const unsure = runMeshaid(["wipe", "--db", dir.path]);
    expect(unsure.status).toBe(1);
    expect(unsure.stderr).toContain("run again with --yes");
    const wiped = runMeshaid(["wipe", "--db", dir.path, "--yes"]);
    expect(wiped.status).toBe(0);
    expect(wiped.stdout).toMatch(/wiped .*: \d+ files \(\d+ bytes\) overwritten and deleted, keys first; nothing is left/);
    expect(readdirSync(dir.path)).toEqual([]);
    // A fresh start after a wipe is a new, empty store.
    const fresh = runMeshaid(["wipe", "--db", dir.path, "--yes"]);
    expect(fresh.stdout).toContain("nothing to wipe");
    rmSync(keyFile);
    rmSync(wrongFile);
  }, 120_000);

  it("refuses --encrypt on a store that already holds unencrypted records", async () => {
    await runUntilRecord([]);
    const run = runMeshaid(["start", "--db", dir.path, "--encrypt", "--key-file", "/dev/null"]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toMatch(/holds unencrypted records: export them .* then start with --encrypt$/);
  }, 60_000);
});
