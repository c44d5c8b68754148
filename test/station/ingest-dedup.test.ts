// A record the radio hears and a peer station relays over the internet (in either order, or at
// once) is stored once and shown once; so is a record heard again after a restart.
import { describe, expect, it } from "vitest";
import { Level } from "level";
import pino from "pino";
import { Station, type StationEvent } from "../../src/station/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import type { FieldRecord } from "../../src/wire/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { codebook, presets } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const logger = pino({ level: "silent" });
const MEDIC = 0x2a6f1c02;
const NOW = 1_750_000_000_000;

describe("Station ingest dedup", () => {
  const dir = useTempDir();

  async function startStation(): Promise<{ station: Station; store: RecordStore; radio: ScriptedRadio; events: StationEvent[] }> {
    const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    const radio = new ScriptedRadio();
    const station = new Station({ name: "Base", radio, store, presets, codebook, logger, now: () => NOW });
    const events: StationEvent[] = [];
    station.subscribe((event) => events.push(event));
    await station.start();
    return { station, store, radio, events };
  }

  /** The record a peer station that heard the same packet relays: the same id. */
  const relayedCopy = (seq: number): FieldRecord => ({ id: { origin: MEDIC, seq }, receivedAt: NOW + 5, body: { kind: "supply_request", lines: [{ item: "water" }], priority: "normal" }, text: "NEED WATER" });

  const shown = (events: StationEvent[]): string[] => events.flatMap((event) => (event.type === "record" ? [`${event.record.id.origin}:${event.record.id.seq}`] : []));

  it("stores and shows once a record heard on the radio, then relayed by a peer", async () => {
    const { station, store, radio, events } = await startStation();
    radio.hear(MEDIC, 0x3003, "NEED WATER");
    await station.idle();
    expect(await station.acceptRelayed([relayedCopy(0x3003), relayedCopy(0x3004)], "north")).toEqual([relayedCopy(0x3004)]);
    await station.idle();
    expect(shown(events)).toEqual([`${MEDIC}:${0x3003}`, `${MEDIC}:${0x3004}`]);
    expect(store.count).toBe(2);
    await station.stop();
    await store.close();
  });

  it("stores and shows once a record relayed by a peer and heard on the radio at the same time", async () => {
    const { station, store, radio, events } = await startStation();
    const relayed = station.acceptRelayed([relayedCopy(0x4004)], "north");
    radio.hear(MEDIC, 0x4004, "NEED WATER");
    radio.hear(MEDIC, 0x4004, "NEED WATER");
    await relayed;
    await station.idle();
    expect(shown(events)).toEqual([`${MEDIC}:${0x4004}`]);
    expect(store.count).toBe(1);
    await station.stop();
    await store.close();
  });

  it("does not store or show again, after a restart, a record heard or relayed before it", async () => {
    const first = await startStation();
    first.radio.hear(MEDIC, 0x5005, "NEED WATER");
    await first.station.acceptRelayed([relayedCopy(0x5006)], "north");
    await first.station.idle();
    await first.station.stop();
    await first.store.close();
    const { station, store, radio, events } = await startStation();
    radio.hear(MEDIC, 0x5006, "NEED WATER");
    expect(await station.acceptRelayed([relayedCopy(0x5005)], "north")).toEqual([]);
    radio.hear(MEDIC, 0x5005, "NEED WATER");
    await station.idle();
    expect(shown(events)).toEqual([]);
    expect(store.count).toBe(2);
    await station.stop();
    await store.close();
  });
});
