// A real Mosquitto for the system tests: started on a free loopback port with a config file the
// test writes, stopped (or killed) and restarted on the same port.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { join } from "node:path";

export const MOSQUITTO = "/usr/sbin/mosquitto";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || !address) throw new Error("no port");
  return address.port;
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export class Mosquitto {
  readonly port: number;
  readonly url: string;
  private readonly config: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  output = "";

  private constructor(dir: string, port: number, persistence: boolean, listener: string[]) {
    this.port = port;
    this.url = `mqtt://127.0.0.1:${port}`;
    this.config = join(dir, "mosquitto.conf");
    const lines = [
      `listener ${port} 127.0.0.1`,
      ...(listener.length > 0 ? listener : ["allow_anonymous true"]),
      // The relay's catch-up may queue far more than Mosquitto's default 1000 messages per session.
      "max_queued_messages 100000",
      `persistence ${persistence ? "true" : "false"}`,
      `persistence_location ${dir}/`,
      "autosave_interval 1",
      "log_dest stdout",
    ];
    writeFileSync(this.config, `${lines.join("\n")}\n`);
  }

  /**
   * Starts Mosquitto with its own config in `dir` on a free loopback port. `listener`: settings of
   * the listener (TLS files, password file) instead of allowing anonymous clients.
   */
  static async start(dir: string, options: { persistence?: boolean; listener?: string[] } = {}): Promise<Mosquitto> {
    const broker = new Mosquitto(dir, await freePort(), options.persistence ?? true, options.listener ?? []);
    await broker.run();
    return broker;
  }

  async run(): Promise<void> {
    const child = spawn(MOSQUITTO, ["-c", this.config], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    child.stdout?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    for (let attempt = 0; attempt < 200; attempt += 1) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited: ${this.output}`);
      if (await accepting(this.port)) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`mosquitto did not listen on ${this.port}: ${this.output}`);
  }

  /** Stops it: SIGTERM (it saves its sessions), or SIGKILL (it saves nothing more). */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill(signal);
    await this.exited;
  }
}
