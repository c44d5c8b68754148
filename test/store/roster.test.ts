// meshaid's own roster on a real LevelDB: built from NODEINFO, POSITION, TELEMETRY and packet
// metadata, kept across restarts, never moved back in time by a stale NodeDB entry.
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { PortNum, type RadioEvent } from "../../src/radio/index.ts";
import { RosterStore } from "../../src/store/index.ts";
import { useTempDir } from "../helpers/tmp.ts";

const MEDIC = 0x9e3b7a42;
const heard = { rxTimeMs: 1_750_000_100_000, rxSnr: 6.25, rxRssi: -97, hopsAway: 1 };

describe("RosterStore", () => {
  const dir = useTempDir();
  const open = (): Level<string, Uint8Array> => new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });

  it("folds node info, position, telemetry and packet metadata into one entry per node, kept across a restart", async () => {
    const db = open();
    await db.open();
    const roster = await RosterStore.open(db, { now: () => 1_750_000_000_000 });
    const events: RadioEvent[] = [
      { type: "node", node: { num: MEDIC, userId: "!9e3b7a42", longName: "Medic 1", shortName: "M1", role: 0, hwModel: 7 }, heard },
      { type: "position", from: MEDIC, position: { latitude: 52.52, longitude: 13.405, altitude: 34, precisionBits: 13, timeMs: 1_750_000_090_000 }, heard: { ...heard, rxTimeMs: 1_750_000_200_000 } },
      { type: "telemetry", from: MEDIC, telemetry: { batteryLevel: 71, voltage: 3.9, channelUtilization: 12.5, airUtilTx: 1.5 }, heard: { ...heard, rxTimeMs: 1_750_000_300_000, hopsAway: 2 } },
      { type: "log", line: "nothing about nodes" },
    ];
    for (const event of events) await roster.apply(event);
    const expected = {
      num: MEDIC,
      userId: "!9e3b7a42",
      callsign: "M1",
      longName: "Medic 1",
      role: 0,
      hwModel: 7,
      lastPosition: { latitude: 52.52, longitude: 13.405, altitude: 34, precisionBits: 13, timeMs: 1_750_000_090_000 },
      batteryLevel: 71,
      voltage: 3.9,
      channelUtilization: 12.5,
      airUtilTx: 1.5,
      snr: 6.25,
      rssi: -97,
      hopsAway: 2,
      lastHeardMs: 1_750_000_300_000,
    };
    expect(roster.get(MEDIC)).toEqual(expected);
    expect(roster.size).toBe(1);
    await db.close();

    const again = open();
    await again.open();
    expect((await RosterStore.open(again)).list()).toEqual([expected]);
    await again.close();
  });

  it("forgets nodes not heard since a cutoff, on disk too", async () => {
    const db = open();
    await db.open();
    const roster = await RosterStore.open(db, { now: () => 0 });
    const node = (num: number, lastHeardMs: number): RadioEvent => ({
      type: "node",
      node: { num, userId: "", longName: "", shortName: `N${num}`, role: 0, hwModel: 0, lastHeardMs },
    });
    await roster.apply(node(1, 1_000));
    await roster.apply(node(2, 5_000));
    await roster.apply(node(3, 9_000));
    expect(await roster.prune(5_000)).toBe(1);
    expect(roster.list().map((e) => e.num)).toEqual([3, 2]);
    await db.close();
    const again = open();
    await again.open();
    expect((await RosterStore.open(again)).list().map((e) => e.num)).toEqual([3, 2]);
    await again.close();
  });

  it("learns a node from any packet, and a stale NodeDB entry does not move last-heard back", async () => {
    const db = open();
    await db.open();
    const roster = await RosterStore.open(db, { now: () => 1_750_000_999_000 });
    await roster.apply({
      type: "packet",
      packet: { from: MEDIC, to: 0xffffffff, id: 1, channel: 0, portnum: PortNum.TEXT_MESSAGE_APP, payload: new Uint8Array(), rxTimeMs: undefined, rxSnr: -3.5, rxRssi: -110, hopLimit: 1, hopStart: 3 },
    });
    expect(roster.get(MEDIC)).toEqual({ num: MEDIC, userId: "!9e3b7a42", lastHeardMs: 1_750_000_999_000, snr: -3.5, rssi: -110, hopsAway: 2 });
    await roster.apply({ type: "node", node: { num: MEDIC, userId: "!9e3b7a42", longName: "Medic 1", shortName: "M1", role: 0, hwModel: 7, lastHeardMs: 1_700_000_000_000 } });
    expect(roster.get(MEDIC)).toMatchObject({ callsign: "M1", lastHeardMs: 1_750_000_999_000, hopsAway: 2 });
    await db.close();
  });
});
