// Records encrypted at rest: AES-256-GCM with a scrypt key, sealed in the store's value codec.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { checkStore, CipherError, RecordCipher, RecordStore, StoreEncryptedError } from "../../src/store/index.ts";
import { arbitraryRecord, codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const PASSPHRASE = "correct horse battery staple";

describe("RecordCipher", () => {
  it("opens what it sealed for the same key, and nothing altered, moved or under another key", async () => {
    const { cipher, params } = await RecordCipher.create(PASSPHRASE);
    const other = (await RecordCipher.create("another passphrase!")).cipher;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 20 }), fc.nat(), (plain, key, at) => {
        const sealed = cipher.seal(plain, key);
        expect(Buffer.from(cipher.open(sealed, key)).equals(Buffer.from(plain))).toBe(true);
        expect(() => cipher.open(sealed, `${key}x`)).toThrow(CipherError);
        expect(() => other.open(sealed, key)).toThrow(CipherError);
        const flipped = Uint8Array.from(sealed);
        const index = 4 + (at % (flipped.length - 4));
        flipped[index] = flipped[index]! ^ 0x01;
        expect(() => cipher.open(flipped, key)).toThrow(CipherError);
      }),
      { numRuns: 200 },
    );
    expect(params).toMatchObject({ version: 1, kdf: "scrypt", N: 32768, r: 8, p: 1 });
    await expect(RecordCipher.unlock("wrong passphrase", params)).rejects.toThrow("wrong passphrase for this store");
    const again = await RecordCipher.unlock(PASSPHRASE, params);
    expect(Buffer.from(again.open(cipher.seal(Uint8Array.of(1, 2, 3), "k"), "k"))).toEqual(Buffer.from([1, 2, 3]));
  });
});

describe("an encrypted store", () => {
  const dir = useTempDir();

  it("keeps records readable with the key, unreadable on disk, and still deduplicated by id", async () => {
    const { cipher } = await RecordCipher.create(PASSPHRASE);
    const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook, { cipher });
    const named = { ...presetRecord(0x1234, 7), body: { kind: "message" as const, text: "Alejandra Ruiz at the fountain" }, text: "Alejandra Ruiz at the fountain", sender: "MARIA" };
    const records = [named, ...fc.sample(arbitraryRecord, { numRuns: 50, seed: 4 })];
    const first = await Promise.all(records.map((record) => store.append(record)));
    const again = await Promise.all(records.map((record) => store.append(record)));
    expect(again.every((result) => !result.stored)).toBe(true);
    const unique = first.filter((result) => result.stored).length;
    expect(store.count).toBe(unique);
    expect(await store.get(named.id)).toEqual(named);
    expect((await store.recent(1000)).length).toBe(unique);
    await store.close();
    // Nothing of the text is on disk in the clear (LevelDB's files, compressed or not).
    const onDisk = readdirSync(dir.path).map((name) => readFileSync(join(dir.path, name)).toString("latin1")).join("");
    for (const word of ["Alejandra", "fountain", "MARIA"]) expect(onDisk).not.toContain(word);
    // Without the key the check refuses to read, and quarantines nothing.
    const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    await expect(checkStore(db, codebook)).rejects.toThrow(StoreEncryptedError);
    await expect(checkStore(db, codebook, { cipher })).resolves.toMatchObject({ records: unique, quarantined: [] });
    await db.close();
  });
});
