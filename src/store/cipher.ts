// Records at rest, encrypted: AES-256-GCM (node:crypto) with a key derived from a passphrase by
// scrypt. Only the values of the log are sealed; keys (origin!seq) stay as they are, so a record
// heard twice is still found by its id without decrypting anything. Each value is bound to its
// key (additional data): a sealed value moved under another key does not open.
//
// Sealed value: MAGIC (4 bytes) | IV (12) | tag (16) | ciphertext. MAGIC starts with 0xff, which
// no protobuf message starts with (wire type 7), so a sealed value is never mistaken for a record.
import { createCipheriv, createDecipheriv, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { decodeLoggedRecord, encodeLoggedRecord, WireError, type Codebook, type FieldRecord, type Result } from "../wire/index.ts";

const MAGIC = Uint8Array.of(0xff, 0x4d, 0x41, 0x01);
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const CHECK_TEXT = "meshaid store key check";

/** scrypt parameters: N = 2^15 costs about 0.1 s and 32 MiB once per start. */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;

/** The key file's content (`<data dir>/keys/store-key.json`): how to derive the key, and a check. */
export interface KeyParams {
  version: 1;
  kdf: "scrypt";
  N: number;
  r: number;
  p: number;
  /** base64 */
  salt: string;
  /** base64: CHECK_TEXT sealed with the key, to tell a wrong passphrase from a damaged store. */
  check: string;
}

/** The passphrase does not open this store, or a value does not decrypt. */
export class CipherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CipherError";
  }
}

export function isSealed(bytes: Uint8Array): boolean {
  // Checked on every log entry a start reads: no closure per call.
  return bytes.length >= MAGIC.length && bytes[0] === MAGIC[0] && bytes[1] === MAGIC[1] && bytes[2] === MAGIC[2] && bytes[3] === MAGIC[3];
}

export class RecordCipher {
  private readonly key: Buffer;

  private constructor(key: Buffer) {
    this.key = key;
  }

  /** Seals `plain` for the log entry `key`. */
  seal(plain: Uint8Array, key: string): Uint8Array {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(key, "utf8"));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]);
  }

  /** Opens a value sealed for `key`; throws CipherError when it does not open. */
  open(sealed: Uint8Array, key: string): Uint8Array {
    if (!isSealed(sealed) || sealed.length < MAGIC.length + IV_BYTES + TAG_BYTES) throw new CipherError("not an encrypted record");
    const iv = sealed.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
    const tag = sealed.subarray(MAGIC.length + IV_BYTES, MAGIC.length + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv("aes-256-gcm", this.key, iv);
    decipher.setAAD(Buffer.from(key, "utf8"));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(MAGIC.length + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw new CipherError("the encrypted record does not open (damaged, or sealed with another key)");
    }
  }

  /** A new key from a passphrase: the cipher and the parameters to keep in the keys folder. */
  static async create(passphrase: string): Promise<{ cipher: RecordCipher; params: KeyParams }> {
    const salt = randomBytes(16);
    const cipher = new RecordCipher(await derive(passphrase, salt, SCRYPT_PARAMS));
    const check = cipher.seal(Buffer.from(CHECK_TEXT), "check");
    return { cipher, params: { version: 1, kdf: "scrypt", ...SCRYPT_PARAMS, salt: salt.toString("base64"), check: Buffer.from(check).toString("base64") } };
  }

  /** The key from a passphrase and the kept parameters; CipherError for a wrong passphrase. */
  static async unlock(passphrase: string, params: KeyParams): Promise<RecordCipher> {
    if (params.version !== 1 || params.kdf !== "scrypt") throw new CipherError(`key parameters of version ${String(params.version)} / ${String(params.kdf)} are not ones this meshaid reads`);
    const cipher = new RecordCipher(await derive(passphrase, Buffer.from(params.salt, "base64"), params));
    let check: Uint8Array;
    try {
      check = cipher.open(Buffer.from(params.check, "base64"), "check");
    } catch {
      throw new CipherError("wrong passphrase for this store");
    }
    if (!timingSafeEqual(Buffer.from(check), Buffer.from(CHECK_TEXT))) throw new CipherError("wrong passphrase for this store");
    return cipher;
  }
}

function derive(passphrase: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(passphrase.normalize("NFC"), salt, KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/**
 * How a log entry's value is written and read: the wire's log codec, sealed with `cipher` when
 * the store is encrypted. A sealed value read without a cipher (or one that does not open) is an
 * error naming what to do, never a record.
 */
export function logValueCodec(codebook: Codebook, cipher?: RecordCipher): { encode(record: FieldRecord, key: string): Uint8Array; decode(bytes: Uint8Array, key: string): Result<FieldRecord> } {
  return {
    encode: (record, key) => {
      const plain = encodeLoggedRecord(record, codebook);
      return cipher ? cipher.seal(plain, key) : plain;
    },
    decode: (bytes, key) => {
      if (!cipher) {
        if (isSealed(bytes)) return { ok: false, error: new WireError("WIRE_MALFORMED", "the record is encrypted: start meshaid with --encrypt and the store's passphrase") };
        return decodeLoggedRecord(bytes, codebook);
      }
      let plain: Uint8Array;
      try {
        plain = cipher.open(bytes, key);
      } catch (error) {
        return { ok: false, error: new WireError("WIRE_MALFORMED", (error as Error).message) };
      }
      return decodeLoggedRecord(plain, codebook);
    },
  };
}

/** What a text value reads as when it is sealed and does not open: not JSON, so each reader's corrupt-entry path takes it. */
export const UNOPENED_VALUE = "\u0000sealed value does not open";

/**
 * The value encoding of a sublevel of JSON text (roster, audit trail, outboxes, sends): plain
 * UTF-8, or, when the store is encrypted, sealed like the log (bound to the sublevel's name, so a
 * value moved to another sublevel does not open). Their keys (node numbers, counters, ids) hold
 * nothing personal and stay clear. A plain value written before encryption still reads.
 */
export function textValueEncoding(cipher: RecordCipher | undefined, sublevel: string): "utf8" | { name: string; format: "view"; encode: (text: string) => Uint8Array; decode: (bytes: Uint8Array) => string } {
  if (!cipher) return "utf8";
  const bound = `sublevel:${sublevel}`;
  return {
    name: `meshaid-sealed-${sublevel}`,
    format: "view",
    encode: (text) => cipher.seal(Buffer.from(text, "utf8"), bound),
    decode: (bytes) => {
      if (!isSealed(bytes)) return Buffer.from(bytes).toString("utf8");
      try {
        return Buffer.from(cipher.open(bytes, bound)).toString("utf8");
      } catch {
        return UNOPENED_VALUE;
      }
    },
  };
}
