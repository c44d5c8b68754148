// The radio's durable outbox on a real LevelDB: entries survive a close and reopen, in order, and a
// send queue that restarts on it sends each of them once.
import { Level } from "level";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { BROADCAST_NUM, PortNum, SendQueue, type OutboxEntry, type PacketWriter, type ProtoInit } from "../../src/radio/index.ts";
import { LevelOutbox } from "../../src/store/index.ts";
import { useTempDir } from "../helpers/tmp.ts";

const entry = (id: string, byte: number): OutboxEntry => ({
  id,
  portnum: PortNum.PRIVATE_APP,
  payload: Uint8Array.of(byte, 0, 0x94, 0xc3),
  to: BROADCAST_NUM,
  channel: 1,
  wantAck: false,
  queuedAt: 1_750_000_000_000,
});

describe("LevelOutbox", () => {
  const dir = useTempDir();
  const open = (): Level<string, Uint8Array> => new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });

  it("lists entries in id order with their bytes intact, across a close and reopen", async () => {
    const db = open();
    const outbox = new LevelOutbox(db);
    await outbox.put(entry("0000000000000003", 3));
    await outbox.put(entry("0000000000000001", 1));
    await outbox.put(entry("0000000000000002", 2));
    await outbox.remove("0000000000000002");
    const control = { ...entry("0000000000000004", 4), hopLimit: 0, priority: 70 }; // a base station's control: its own hop limit and priority
    await outbox.put(control);
    await db.close();

    const again = open();
    const reopened = new LevelOutbox(again);
    expect(await reopened.list()).toEqual([entry("0000000000000001", 1), entry("0000000000000003", 3), control]);
    await again.close();
  });

  it("reports an entry that does not decode and skips it", async () => {
    const db = open();
    await db.open();
    await db.sublevel<string, string>("outbox", { valueEncoding: "utf8" }).put("0000000000000009", "{not json");
    const corrupt: string[] = [];
    const outbox = new LevelOutbox(db, (key) => corrupt.push(key));
    await outbox.put(entry("0000000000000010", 7));
    expect((await outbox.list()).map((e) => e.id)).toEqual(["0000000000000010"]);
    expect(corrupt).toEqual(["0000000000000009"]);
    await db.close();
  });

  it("a record queued before a crash is sent after the restart exactly once", async () => {
    const logger = pino({ level: "silent" });
    const db = open();
    await db.open();
    const before = new SendQueue({ outbox: new LevelOutbox(db), logger }, () => undefined);
    await before.send({ record: Uint8Array.of(0xee, 1) });
    await before.send({ record: Uint8Array.of(0xee, 2) });
    before.close(); // the process dies: nothing was written to a radio
    await db.close();

    const again = open();
    await again.open();
    const written: number[] = [];
    const sent: string[] = [];
    const after = new SendQueue({ outbox: new LevelOutbox(again), logger }, (event) => {
      if (event.type === "delivery" && event.delivery.state === "sent") sent.push(event.delivery.id);
    });
    expect(await after.load()).toBe(2);
    const ids: number[] = [];
    const writer: PacketWriter = {
      myNodeNum: 0x2a6f1c01,
      sendPacket(packet: ProtoInit) {
        const p = packet as unknown as { id: number; payloadVariant: { value: { payload: Uint8Array } } };
        ids.push(p.id);
        written.push(p.payloadVariant.value.payload[1] ?? -1);
        return Promise.resolve();
      },
    };
    after.attach(writer);
    after.onEvent({ type: "queue-status", res: 0, free: 15, maxlen: 16, packetId: ids[0]! });
    after.onEvent({ type: "queue-status", res: 0, free: 15, maxlen: 16, packetId: ids[1]! });
    await expect.poll(async () => (await new LevelOutbox(again).list()).length).toBe(0);
    expect(written).toEqual([1, 2]);
    expect(sent).toHaveLength(2);
    after.close();
    await again.close();
  });
});
