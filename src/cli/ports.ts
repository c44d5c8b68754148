// `meshaid ports`: every serial port, whether `--port auto` would choose it, and why.
import { scanRadioPorts } from "../radio/index.ts";

export async function runPorts(): Promise<number> {
  const choice = await scanRadioPorts();
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
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
