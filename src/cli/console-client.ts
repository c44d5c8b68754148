// `meshaid console`: the console attached to a running station from another terminal. The
// station keeps the radio and the database; this process holds only a connection to its control
// socket (a RemoteStation) and draws it as `meshaid start` would.
import { resolve } from "node:path";
import { RemoteStation } from "../station/index.ts";
import { labelOf, type CodebookCategory } from "../wire/index.ts";
import { consoleActions } from "./console-actions.ts";
import { connectControl } from "./control.ts";
import { ConfigFileError, DEFAULT_CODEBOOK_FILE, readCodebook, readPresetTable } from "./field-config.ts";
import { airtimeMs, MODEM_PRESETS } from "../sim/index.ts";
import { DEFAULT_PRESETS_FILE, defaultDataDir } from "./paths.ts";

export interface ConsoleClientOptions {
  db?: string;
  codebook?: string;
  presets?: string;
  language?: string;
  operator: string;
  role: string;
}

export async function runConsoleClient(options: ConsoleClientOptions, err: (line: string) => void): Promise<number> {
  const dataDir = resolve(options.db ?? defaultDataDir());
  if (!process.stdin.isTTY) {
    err("meshaid: the console needs a terminal; for scripts use `meshaid status --json` or `meshaid send`");
    return 1;
  }
  let codebook;
  let presets;
  try {
    codebook = readCodebook(options.codebook ?? DEFAULT_CODEBOOK_FILE);
    presets = readPresetTable(options.presets ?? DEFAULT_PRESETS_FILE, codebook);
  } catch (error) {
    if (error instanceof ConfigFileError || error instanceof Error) {
      err(`meshaid: ${error.message}`);
      return 1;
    }
    throw error;
  }
  let client;
  try {
    client = await connectControl(dataDir);
  } catch (error) {
    err(`meshaid: ${(error as Error).message}`);
    return 1;
  }
  const station = await RemoteStation.attach(client);
  const { renderConsole } = await import("../ui/index.ts");
  const first = options.language ?? "en";
  const languages = [first, ...codebook.languages.filter((code) => code !== first)];
  const labelsFor = (language: string) => (category: CodebookCategory, name: string) => labelOf(codebook, category, name, language);
  const compose = { codebook, presets: presets.presets.map(({ text, body }) => ({ text, body })), airtimeMs: (bytes: number) => airtimeMs(bytes, MODEM_PRESETS.LONG_FAST) };
  const actions = consoleActions(station, { callsign: options.operator, role: options.role });
  let lost = false;
  let quitting = false;
  await new Promise<void>((resolveQuit) => {
    const ui = renderConsole(station, {
      onQuit: () => {
        quitting = true;
        resolveQuit();
      },
      // Quitting this console leaves the station and what it has queued running: nothing to ask.
      console: { languages, labelsFor, compose, ...actions, unsentCount: 0, transmit: () => station.transmit() ?? idleTransmit() },
    });
    client.onClose(() => {
      if (quitting) return;
      lost = true;
      ui.unmount();
      resolveQuit();
    });
  });
  client.close();
  if (lost) {
    err("meshaid: the station closed the connection (it stopped?)");
    return 1;
  }
  return 0;
}

function idleTransmit() {
  return { queued: { life_safety: 0, incident: 0, request: 0, status: 0, shift: 0, checkin: 0 }, airtimeUsedMs: 0, airtimeBudgetMs: 0, channelUtilization: 0, intervalMs: 0 };
}
