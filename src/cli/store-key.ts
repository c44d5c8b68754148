// The store's key, for `meshaid start --encrypt`: derived from a passphrase the operator gives
// (a key file for an unattended start, MESHAID_PASSPHRASE, or a prompt on the terminal) with
// the salt and check kept in `<data dir>/keys/store-key.json`. Destroying that folder (meshaid
// wipe) makes the records unreadable, with or without the passphrase.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CipherError, RecordCipher, type KeyParams } from "../store/index.ts";
import { KEYS_FOLDER, KeyError } from "./key-files.ts";

export const STORE_KEY_FILE = "store-key.json";


export interface KeyOptions {
  encrypt?: boolean;
  /** A file whose first line is the passphrase (unattended start). */
  keyFile?: string;
}

export interface PassphraseSource {
  env: NodeJS.ProcessEnv;
  /** Asks on the terminal without echo; undefined when there is no terminal. */
  ask?: (prompt: string) => Promise<string>;
}

export function storeKeyPath(dataDir: string): string {
  return join(dataDir, KEYS_FOLDER, STORE_KEY_FILE);
}

/**
 * The cipher for the store in `dataDir`, or undefined for an unencrypted store. Refuses an
 * encrypted store without --encrypt, and --encrypt on a store that already holds unencrypted
 * records (`dbHasData`).
 */
export async function storeCipher(dataDir: string, options: KeyOptions, source: PassphraseSource, dbHasData: boolean): Promise<RecordCipher | undefined> {
  const keyPath = storeKeyPath(dataDir);
  const encrypted = existsSync(keyPath);
  if (!options.encrypt) {
    if (encrypted) throw new KeyError(`the store in ${dataDir} is encrypted (${keyPath}): start with --encrypt (the passphrase from --key-file FILE, MESHAID_PASSPHRASE or the prompt)`);
    return undefined;
  }
  if (!encrypted && dbHasData) {
    throw new KeyError(`the store in ${dataDir} holds unencrypted records: export them (meshaid export), destroy them (meshaid wipe --yes), then start with --encrypt`);
  }
  const passphrase = await readPassphrase(options, source, !encrypted);
  if (passphrase.length < 8) throw new KeyError("the passphrase is shorter than 8 characters; choose a longer one");
  if (encrypted) {
    let params: KeyParams;
    try {
      params = JSON.parse(readFileSync(keyPath, "utf8")) as KeyParams;
    } catch (error) {
      throw new KeyError(`cannot read the store's key parameters ${keyPath}: ${(error as Error).message}`);
    }
    try {
      return await RecordCipher.unlock(passphrase, params);
    } catch (error) {
      if (error instanceof CipherError) throw new KeyError(`${error.message} (${keyPath})`);
      throw error;
    }
  }
  const { cipher, params } = await RecordCipher.create(passphrase);
  mkdirSync(join(dataDir, KEYS_FOLDER), { recursive: true, mode: 0o700 });
  writeFileSync(keyPath, `${JSON.stringify(params, null, 2)}\n`, { mode: 0o600, flush: true });
  return cipher;
}

async function readPassphrase(options: KeyOptions, source: PassphraseSource, creating: boolean): Promise<string> {
  if (options.keyFile !== undefined) {
    try {
      return (readFileSync(options.keyFile, "utf8").split(/\r?\n/)[0] ?? "").trim();
    } catch (error) {
      throw new KeyError(`cannot read the key file ${options.keyFile}: ${(error as Error).message}`);
    }
  }
  const fromEnv = source.env["MESHAID_PASSPHRASE"];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (!source.ask) throw new KeyError("--encrypt needs the passphrase: give --key-file FILE or set MESHAID_PASSPHRASE (there is no terminal to ask on)");
  const first = await source.ask(creating ? "New passphrase for the store: " : "Passphrase for the store: ");
  if (creating && (await source.ask("The same passphrase again: ")) !== first) throw new KeyError("the two passphrases differ; nothing was created");
  return first;
}

/** Reads one line from a terminal without showing it (raw mode; Ctrl-C aborts). */
export function askHidden(input: NodeJS.ReadStream, output: NodeJS.WriteStream): (prompt: string) => Promise<string> {
  return (prompt) =>
    new Promise((resolve, reject) => {
      output.write(prompt);
      let typed = "";
      const wasRaw = input.isRaw;
      input.setRawMode(true);
      input.resume();
      const done = (error?: Error): void => {
        input.off("data", onData);
        input.setRawMode(wasRaw);
        input.pause();
        output.write("\n");
        if (error) reject(error);
        else resolve(typed);
      };
      const onData = (chunk: Buffer): void => {
        for (const char of chunk.toString("utf8")) {
          if (char === "\r" || char === "\n") return done();
          if (char === "\u0003") return done(new KeyError("cancelled"));
          if (char === "\u007f" || char === "\b") typed = typed.slice(0, -1);
          else typed += char;
        }
      };
      input.on("data", onData);
    });
}
