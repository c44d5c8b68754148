// `meshaid sim` as a user runs it: simulated radios in a child process, and a Meshtastic client
// (meshaid's RadioLink over TCP) connecting to one of them.
import { spawn } from "node:child_process";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { RadioLink, connectTcpTransport, type RadioEvent } from "../../src/radio/index.ts";

const BIN = new URL("../../src/cli/bin.js", import.meta.url).pathname;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe("meshaid sim", () => {
  it("exposes each simulated radio on TCP; a client completes the handshake and sees the other nodes", async () => {
    const child = spawn(process.execPath, [BIN, "sim", "--nodes", "3", "--listen", "tcp://127.0.0.1:0", "--every", "0", "--preset", "SHORT_TURBO"], { stdio: ["ignore", "pipe", "pipe"] });
    cleanups.push(() => void child.kill("SIGKILL"));
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    await expect.poll(() => stdout, { timeout: 15_000 }).toContain("Ctrl-C stops");
    const urls = [...stdout.matchAll(/listening on (tcp:\/\/\S+)/g)].map((m) => new URL(m[1]!));
    expect(urls).toHaveLength(3);
    const url = urls[1]!;
    const link = new RadioLink({ transport: await connectTcpTransport({ host: url.hostname, port: Number(url.port) }), logger: pino({ level: "silent" }) });
    cleanups.push(() => link.close());
    const events: RadioEvent[] = [];
    link.subscribe((event) => events.push(event));
    await link.start();
    expect(link.status).toBe("connected");
    const nodes = events.flatMap((e) => (e.type === "node" ? [e.node.num] : []));
    expect(new Set(nodes).size).toBe(3); // itself and the two others
  });

  it("refuses a bad --nodes", async () => {
    const child = spawn(process.execPath, [BIN, "sim", "--nodes", "zero"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(1);
    expect(stderr).toContain("--nodes must be a whole number");
  });
});
