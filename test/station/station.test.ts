import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { Level } from "level";
import pino from "pino";
import { Station, type StationEvent } from "../../src/station/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { parsePresetTable } from "../../src/wire/index.ts";
import { PortNum } from "../../src/radio/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { tempDir } from "../helpers/tmp.ts";

const presets = parsePresetTable(readFileSync(new URL("../../firmware-config/presets.yaml", import.meta.url), "utf8"));
const logger = pino({ level: "silent" });

const MEDIC = 0x2a6f1c02;

describe("Station ingest", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const openStore = (): Promise<RecordStore> => RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }));

  async function startStation(radio: ScriptedRadio, store: RecordStore): Promise<{ station: Station; events: StationEvent[] }> {
    const station = new Station({ name: "Base", radio, store, presets, logger, now: () => 1_750_000_000_000 });
    const events: StationEvent[] = [];
    station.subscribe((event) => events.push(event));
    await station.start();
    return { station, events };
  }

  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await dir.remove();
  });

  it("turns a preset into a stored record with the sender's callsign", async () => {
    const radio = new ScriptedRadio();
    const store = await openStore();
    const { station, events } = await startStation(radio, store);
    radio.emit({ type: "node", node: { num: MEDIC, userId: "!2a6f1c02", longName: "Medic 1", shortName: "M1", role: 0, hwModel: 0 } });
    radio.hear(MEDIC, 0x1001, "NEED WATER");
    await station.idle();

    expect(events).toEqual([
      {
        type: "record",
        recordCount: 1,
        record: {
          id: { origin: MEDIC, seq: 0x1001 },
          receivedAt: 1_750_000_000_000,
          body: { kind: "supply_request", item: "water", quantity: 1, priority: "normal" },
          text: "NEED WATER",
          sender: "M1",
        },
      },
    ]);
    expect(await store.get({ origin: MEDIC, seq: 0x1001 })).toMatchObject({ sender: "M1", text: "NEED WATER" });
    expect(station.snapshot()).toMatchObject({ name: "Base", recordCount: 1, recent: [{ sender: "M1" }] });
    await station.stop();
    await store.close();
  });

  it("stores and shows a record once when it is heard again (relay, retransmission)", async () => {
    const radio = new ScriptedRadio();
    const store = await openStore();
    const { station, events } = await startStation(radio, store);
    radio.hear(MEDIC, 0x2002, "INJURED 1");
    radio.hear(MEDIC, 0x2002, "INJURED 1");
    radio.hear(MEDIC, 0x2003, "INJURED 1"); // a second press is a second report
    await station.idle();
    expect(events.filter((event) => event.type === "record")).toHaveLength(2);
    expect(store.count).toBe(2);
    await station.stop();
    await store.close();
  });

  it("skips text that is not a preset and packets on other ports, and keeps going", async () => {
    const radio = new ScriptedRadio();
    const store = await openStore();
    const { station, events } = await startStation(radio, store);
    radio.hear(MEDIC, 1, "hello is anyone there");
    radio.hear(MEDIC, 2, "\u0000\u0001garbage", PortNum.PRIVATE_APP);
    radio.hear(MEDIC, 3, "ON SHIFT");
    await station.idle();
    expect(events.map((event) => event.type)).toEqual(["skipped", "record"]);
    expect(events[0]).toMatchObject({ reason: expect.stringContaining("hello is anyone there") as unknown });
    expect(store.count).toBe(1);
    await station.stop();
    await store.close();
  });

  it("shows earlier records after a restart, and does not store them twice", async () => {
    const radio = new ScriptedRadio();
    let store = await openStore();
    let { station } = await startStation(radio, store);
    radio.hear(MEDIC, 10, "NEED WATER");
    radio.hear(MEDIC, 11, "ON SHIFT");
    await station.idle();
    await station.stop();
    await store.close();

    store = await openStore();
    ({ station } = await startStation(radio, store));
    expect(station.snapshot().recent.map((record) => record.text)).toEqual(["ON SHIFT", "NEED WATER"]);
    radio.hear(MEDIC, 10, "NEED WATER");
    await station.idle();
    expect(station.snapshot().recordCount).toBe(2);
    await station.stop();
    await store.close();
  });

  it("passes radio status changes on to the console", async () => {
    const radio = new ScriptedRadio();
    const store = await openStore();
    const { station, events } = await startStation(radio, store);
    radio.emit({ type: "status", status: "reconnecting", reason: "device-rebooted" });
    expect(events).toEqual([{ type: "radio", radio: { status: "reconnecting", reason: "device-rebooted" } }]);
    expect(station.snapshot().radio).toEqual({ status: "reconnecting", reason: "device-rebooted" });
    await station.stop();
    await store.close();
  });
});
