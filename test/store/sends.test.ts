import { describe, expect, it } from "vitest";
import { Level } from "level";
import { SendLog, type StoredSend } from "../../src/store/index.ts";
import { useTempDir } from "../helpers/tmp.ts";

describe("SendLog", () => {
  const dir = useTempDir();
  const openDb = (): Level<string, Uint8Array> => new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
  const send = (id: string, state: StoredSend["state"]): StoredSend => ({ id, records: [{ origin: 1, seq: 2 }], priority: "request", request: { record: "fwE=", wantAck: true }, state, attempts: 1, at: 5 });

  it("keeps each send's latest state across a reopen, and numbers new sends after the last", async () => {
    let db = openDb();
    let log = await SendLog.open(db);
    const a = log.nextId();
    const b = log.nextId();
    expect([a, b]).toEqual(["0000000000000001", "0000000000000002"]);
    await log.put(send(a, "queued"));
    await log.put(send(b, "queued"));
    await log.put({ ...send(a, "failed"), reason: "MAX_RETRANSMIT", retryAt: 99 });
    await db.close();

    db = openDb();
    log = await SendLog.open(db);
    expect(await log.list()).toEqual([{ ...send(a, "failed"), reason: "MAX_RETRANSMIT", retryAt: 99 }, send(b, "queued")]);
    expect(log.nextId()).toBe("0000000000000003");
    await db.close();
  });

  it("reports an entry that does not parse and skips it, keeping the rest", async () => {
    const db = openDb();
    const log = await SendLog.open(db);
    await log.put(send(log.nextId(), "heard"));
    await db.sublevel<string, string>("sends", { valueEncoding: "utf8" }).put("0000000000000009", "{not json");
    const corrupt: string[] = [];
    expect((await log.list((key) => corrupt.push(key))).map((entry) => entry.state)).toEqual(["heard"]);
    expect(corrupt).toEqual(["0000000000000009"]);
    await db.close();
  });
});
