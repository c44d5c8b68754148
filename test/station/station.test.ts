import { describe, expect, it } from "vitest";
import { Level } from "level";
import pino from "pino";
import { Station, type StationEvent } from "../../src/station/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { PortNum } from "../../src/radio/index.ts";
import { encodePayload, MESHAID_PORTNUM, packRecords, parseCodebook } from "../../src/wire/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { codebook, configText, presets, site } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const logger = pino({ level: "silent" });

const MEDIC = 0x2a6f1c02;

describe("Station ingest", () => {
  const dir = useTempDir();
  const openStore = (): Promise<RecordStore> => RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);

  async function startStation(radio: ScriptedRadio, store: RecordStore): Promise<{ station: Station; events: StationEvent[] }> {
    const station = new Station({ name: "Base", radio, store, presets, codebook, site, logger, now: () => 1_750_000_000_000 });
    const events: StationEvent[] = [];
    station.subscribe((event) => events.push(event));
    await station.start();
    return { station, events };
  }

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
          body: { kind: "supply_request", lines: [{ item: "water" }], priority: "normal" },
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

  it("keeps text it cannot read as a plain message, skips other ports, and keeps going", async () => {
    const radio = new ScriptedRadio();
    const store = await openStore();
    const { station, events } = await startStation(radio, store);
    radio.hear(MEDIC, 1, "hello is anyone there");
    radio.hear(MEDIC, 2, "\u0000\u0001garbage", PortNum.PRIVATE_APP);
    radio.hear(MEDIC, 3, "ON SHIFT");
    await station.idle();
    expect(events.map((event) => event.type)).toEqual(["record", "record"]);
    expect(events[0]).toMatchObject({ record: { body: { kind: "message", text: "hello is anyone there" } } });
    expect(store.count).toBe(2);
    await station.stop();
    await store.close();
  });

  it("reads typed text into records when confident, with the place in words", async () => {
    const radio = new ScriptedRadio();
    const store = await openStore();
    const { station, events } = await startStation(radio, store);
    radio.hear(MEDIC, 0x500, "need 10 saline eyewash + 5 gauze packs @ 5th & Main ASAP");
    radio.hear(MEDIC, 0x600, "Arrests at 5th & Main, 4 detained, legal observers needed");
    await station.idle();
    const records = events.flatMap((event) => (event.type === "record" ? [event.record] : []));
    expect(records.map((record) => [record.id.seq, record.body.kind, record.place])).toEqual([
      [0x500, "supply_request", "5th & Main"],
      [0x600, "incident", "5th & Main"],
      [0x601, "supply_request", "5th & Main"],
    ]);
    expect(records[0]!.body).toEqual({ kind: "supply_request", lines: [{ item: "eyewash", quantity: 10 }, { item: "gauze", quantity: 5 }], priority: "urgent", place: { landmark: 3 } });
    expect(records[0]!.text).toBe("need 10 saline eyewash + 5 gauze packs @ 5th & Main ASAP");
    await station.stop();
    await store.close();
  });

  it("ingests meshaid payloads on its own port, several records a packet, and says when one does not decode", async () => {
    const radio = new ScriptedRadio();
    const store = await openStore();
    const { station, events } = await startStation(radio, store);
    const packed = packRecords(
      [
        { seq: 41, body: { kind: "checkin", status: "ok", battery: 80 } },
        { seq: 42, body: { kind: "supply_request", lines: [{ item: "water", quantity: 20 }], priority: "normal", place: { landmark: 1 } } },
      ],
      codebook,
    );
    if (!packed.ok) throw packed.error;
    radio.hearBytes(MEDIC, 0x700, packed.value[0]!, MESHAID_PORTNUM);
    radio.hearBytes(MEDIC, 0x701, packed.value[0]!, MESHAID_PORTNUM); // heard again through a relay
    radio.hearBytes(MEDIC, 0x702, new TextEncoder().encode("not ours"), MESHAID_PORTNUM);
    await station.idle();
    expect(events.map((event) => (event.type === "record" ? `${event.record.id.seq} ${event.record.body.kind}` : event.type))).toEqual(["41 checkin", "42 supply_request", "skipped"]);
    expect(events[2]).toMatchObject({ reason: expect.stringContaining("not a meshaid payload") as unknown });
    expect(store.count).toBe(2);
    await station.stop();
    await store.close();
  });

  it("reads meshaid payloads on the record port it is given, and only there", async () => {
    const radio = new ScriptedRadio();
    const store = await openStore();
    const station = new Station({ name: "Base", radio, store, presets, codebook, site, logger, recordPort: 287, now: () => 1_750_000_000_000 });
    const events: StationEvent[] = [];
    station.subscribe((event) => events.push(event));
    await station.start();
    const packed = packRecords([{ seq: 51, body: { kind: "checkin", status: "ok", battery: 70 } }], codebook);
    if (!packed.ok) throw packed.error;
    radio.hearBytes(MEDIC, 0x900, packed.value[0]!, MESHAID_PORTNUM); // another app's port here
    radio.hearBytes(MEDIC, 0x901, packed.value[0]!, 287);
    await station.idle();
    expect(events.flatMap((event) => (event.type === "record" ? [`${event.record.id.seq} ${event.record.body.kind}`] : []))).toEqual(["51 checkin"]);
    expect(store.count).toBe(1);
    await station.stop();
    await store.close();
  });

  it("says once when a sender uses another codebook, and stores its records with unknown codes shown as such", async () => {
    const radio = new ScriptedRadio();
    const store = await openStore();
    const { station, events } = await startStation(radio, store);
    const newer = parseCodebook(configText("codebook.yaml").replace("items:\n", "items:\n  300: { name: glitter, en: glitter }\n"));
    for (const seq of [1, 2]) {
      const payload = encodePayload([{ seq, body: { kind: "supply_request", lines: [{ item: "glitter", quantity: 5 }], priority: "normal" } }], newer, { withCodebookHash: true });
      if (!payload.ok) throw payload.error;
      radio.hearBytes(MEDIC, 0x800 + seq, payload.value, MESHAID_PORTNUM);
    }
    await station.idle();
    expect(events.map((event) => event.type)).toEqual(["skipped", "record", "record"]);
    expect(events[0]).toMatchObject({ reason: expect.stringContaining(`uses codebook ${newer.hash}, this station ${codebook.hash}`) as unknown });
    expect(events[1]).toMatchObject({ record: { body: { lines: [{ item: "#300", quantity: 5 }] } } });
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
