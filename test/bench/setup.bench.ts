// Field setup: how long meshaid's own part of provisioning one radio takes (reading it, the edit
// transaction, the reconnect after the reboot, the read-back), against the configure handshake
// alone, with a simulated radio over loopback TCP whose reboot takes no time (a real radio adds
// its 7 s reboot delay and boot time). Also what the preset table generates for each handheld,
// against the firmware's 200-byte limit.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { runProvision } from "../../src/cli/provision.ts";
import { RadioLink, connectTcpTransport } from "../../src/radio/index.ts";
import { SimRadio, serveTcp } from "../../src/sim/index.ts";
import { cannedMessagesFor, parseCodebook, parsePresetTable } from "../../src/wire/index.ts";
import { result, type BenchResult } from "./result.ts";

const RUNS = 7;
const logger = pino({ level: "silent" });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "meshaid-bench-setup-"));
  mkdirSync(join(dir, "keys"));
  writeFileSync(join(dir, "keys", "channel.key"), `${randomBytes(32).toString("base64")}\n`);
  const provisionMs: number[] = [];
  const handshakeMs: number[] = [];
  let adminMessages = 0;
  try {
    for (let i = 0; i < RUNS; i++) {
      const radio = new SimRadio({ node: { num: 0x10000000 + i, longName: "Fresh", shortName: "FR", role: 0, hwModel: 7 }, admin: { rebootDelayMs: 0, bootMs: 0 } });
      const server = await serveTcp(radio);
      let messages = 0;
      const handle = radio.admin.handle.bind(radio.admin);
      radio.admin.handle = (payload) => {
        messages++;
        return handle(payload);
      };
      const startHandshake = performance.now();
      const link = new RadioLink({ transport: await connectTcpTransport({ host: server.host, port: server.port }), logger });
      await link.start();
      handshakeMs.push(performance.now() - startHandshake);
      await link.close();

      const start = performance.now();
      const code = await runProvision({ port: server.url, profile: "medic", callsign: "M7", db: dir }, { out: () => undefined, err: (line) => void process.stderr.write(`${line}\n`), logger });
      provisionMs.push(performance.now() - start);
      if (code !== 0) throw new Error("provisioning failed in the benchmark");
      adminMessages = messages;
      await server.close();
      radio.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const root = new URL("../../", import.meta.url).pathname;
  const codebook = parseCodebook(readFileSync(join(root, "firmware-config/codebook.yaml"), "utf8"));
  const presets = parsePresetTable(readFileSync(join(root, "firmware-config/presets.yaml"), "utf8"), codebook);
  const canned = (role: string): number => Buffer.byteLength(cannedMessagesFor(presets, role));
  return [
    result("setup", "provision_one_radio_ms", median(provisionMs), "ms", median(handshakeMs)),
    result("setup", "admin_messages_per_radio", adminMessages, "messages"),
    result("setup", "canned_bytes_medic", canned("medic"), "bytes", 200),
    result("setup", "canned_bytes_marshal", canned("marshal"), "bytes", 200),
  ];
}
