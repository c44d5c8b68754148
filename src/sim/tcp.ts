// meshtasticd's TCP API (port 4403): the stream framing over a socket, one client at a time
// (a new connection force-closes the previous one), no console text, 15-minute idle close.
import { createServer, type Socket } from "node:net";
import type { SimRadio } from "./radio.ts";

export interface TcpServeOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. meshtasticd uses 4403. */
  port?: number;
}

export interface SimTcpServer {
  host: string;
  port: number;
  /** "tcp://host:port". */
  url: string;
  /** Stops listening and closes the current connection. */
  close(): Promise<void>;
}

export async function serveTcp(radio: SimRadio, options: TcpServeOptions = {}): Promise<SimTcpServer> {
  const host = options.host ?? "127.0.0.1";
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => undefined); // a reset connection is the host's business; the radio detaches on close
    for (const other of sockets) if (other !== socket) other.destroy(); // "Force close previous TCP connection"
    radio.attach(socket, { consoleLogs: false, closeOnIdle: true });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the TCP server has no port");
  const port = address.port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    host,
    port,
    url: `tcp://${urlHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
