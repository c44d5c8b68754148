// The console marks what is unauthenticated and flags nodes that behave unlike their history,
// drawn from a real station with a coalition key that hears a spoofed base-station status.
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { cleanup, render } from "ink-testing-library";
import { Level } from "level";
import pino from "pino";
import { Station } from "../../src/station/index.ts";
import { Console } from "../../src/ui/index.ts";
import { coalitionAuthKey, MESHAID_PORTNUM, packRecords } from "../../src/wire/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { codebook, presets, site } from "../helpers/records.ts";
import { tempDir } from "../helpers/tmp.ts";
import { at } from "./fixtures.ts";

const BASE = 0xba5e0002;
const MEDIC = 0x2a6f1c02;
const key = coalitionAuthKey(Buffer.alloc(32, 7));
let dir: Awaited<ReturnType<typeof tempDir>>;

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  cleanup();
  await dir.remove();
});

function line(frame: string | undefined, text: string): string {
  const found = (frame ?? "").split("\n").find((l) => l.includes(text));
  expect(found, `a line with ${text}`).toBeDefined();
  return found!;
}

test("an untagged status under a base station's number is marked UNAUTH, explained in the detail, not applied, and its sender flagged", async () => {
  const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
  const radio = new ScriptedRadio();
  const station = new Station({ name: "Base", radio, store, presets, codebook, site, logger: pino({ level: "silent" }), now: () => at(2, 12, 0).getTime(), auth: key });
  await station.start();
  const app = render(<Console station={station} clock={() => at(2, 13, 0)} onQuit={() => {}} />);

  radio.hear(MEDIC, 0x100, "NEED WATER");
  const spoofed = packRecords([{ seq: 1, body: { kind: "supply_status", status: "cancelled", ref: { origin: MEDIC, seq: 0x100 } } }], codebook, { origin: BASE });
  if (!spoofed.ok) throw spoofed.error;
  radio.hearBytes(BASE, 1, spoofed.value[0]!, MESHAID_PORTNUM);
  await station.idle();

  await vi.waitFor(() => expect(line(app.lastFrame(), "cancelled")).toContain("UNAUTH"));
  // The handheld's preset is marked too, more quietly: a stock radio cannot sign.
  expect(line(app.lastFrame(), "water")).toContain("unauth");
  expect(line(app.lastFrame(), "suspect")).toContain("suspect 1: !ba5e0002 untagged state change (not applied)");
  // The detail says why.
  app.stdin.write("\r");
  await vi.waitFor(() => expect(app.lastFrame()).toContain("unauthenticated: no valid coalition tag from a base-station number · not applied to the boards"));
  app.stdin.write("\u001b");
  await vi.waitFor(() => expect(app.lastFrame()).not.toContain("history ("));
  // The request is still open on the requests board.
  app.stdin.write("2");
  await vi.waitFor(() => expect(line(app.lastFrame(), "water")).toMatch(/open/));
  expect(line(app.lastFrame(), "water")).not.toMatch(/cancel/i);
  await station.stop();
  await store.close();
});

test("the genuine base-station record that replaces a forgery with its id is shown in its place, once, and the sender flagged", async () => {
  const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
  const radio = new ScriptedRadio();
  const station = new Station({ name: "Base", radio, store, presets, codebook, site, logger: pino({ level: "silent" }), now: () => at(2, 12, 0).getTime(), auth: key });
  await station.start();
  const app = render(<Console station={station} clock={() => at(2, 13, 0)} onQuit={() => {}} />);

  radio.hear(MEDIC, 0x100, "NEED WATER");
  const status = (state: "cancelled" | "en_route") => ({ seq: 1, body: { kind: "supply_status" as const, status: state, ref: { origin: MEDIC, seq: 0x100 } } });
  const forged = packRecords([status("cancelled")], codebook, { origin: BASE });
  const genuine = packRecords([status("en_route")], codebook, { origin: BASE, auth: key });
  if (!forged.ok || !genuine.ok) throw new Error("does not pack");
  radio.hearBytes(BASE, 1, forged.value[0]!, MESHAID_PORTNUM);
  await station.idle();
  await vi.waitFor(() => expect(line(app.lastFrame(), "cancelled")).toContain("UNAUTH"));
  radio.hearBytes(BASE, 2, genuine.value[0]!, MESHAID_PORTNUM);
  await station.idle();
  await vi.waitFor(() => expect(app.lastFrame()).not.toContain("cancelled"));
  expect(line(app.lastFrame(), "en route")).not.toContain("UNAUTH");
  expect(line(app.lastFrame(), "suspect")).toContain("suspect 2: !ba5e0002 seq 1 was taken by an unauthenticated record");
  await station.stop();
  await store.close();
});
