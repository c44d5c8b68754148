// `meshaid ports`: every serial port, whether `--port auto` would choose it, and why.
import { scanRadioPorts, type ScanOptions } from "../radio/index.ts";

/** Prints one line per port and the verdict; exit code 0 when a radio was found, 1 when not. */
export async function runPorts(options: ScanOptions = {}, say: (line: string) => void = (line) => void process.stdout.write(`${line}\n`)): Promise<number> {
  const choice = await scanRadioPorts(options);
  if (choice.verdicts.length === 0) {
    say("No serial ports found. Plug the radio in with a data (not charge-only) USB cable.");
    return 1;
  }
  for (const verdict of choice.verdicts) {
    const boards = verdict.boards.length > 0 ? ` [${verdict.boards.join(", ")}]` : "";
    say(`${verdict.chosen ? "*" : " "} ${verdict.path}${boards}: ${verdict.reason}`);
  }
  say(choice.chosen ? `--port auto would use ${choice.chosen.path}` : "--port auto finds no radio: none of these ports is a known board (hardware/boards.json).");
  return choice.chosen ? 0 : 1;
}
