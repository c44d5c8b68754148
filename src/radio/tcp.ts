// A radio over TCP: meshtasticd on Linux, or a Wi-Fi/Ethernet node, on port 4403.
// Same framing as serial, no console text, no wake-up bytes (reference section 1.7).
import { Socket } from "node:net";
import type { Logger } from "pino";
import { RadioError } from "./errors.ts";
import { createStreamTransport } from "./transport.ts";
import type { Transport } from "./transport.ts";

export const MESHTASTIC_TCP_PORT = 4403;

export interface TcpTransportOptions {
  host: string;
  port?: number;
  /** Give up connecting after this long. */
  connectTimeoutMs?: number;
  logger?: Logger;
}

/**
 * Connects to a radio's TCP API. Rejects with a RadioError (RADIO_TCP_REFUSED,
 * RADIO_TCP_HOST_NOT_FOUND, RADIO_TCP_UNREACHABLE, RADIO_TCP_FAILED) naming host:port.
 * The node serves one client at a time: connecting drops whichever client it had.
 */
export function connectTcpTransport(options: TcpTransportOptions): Promise<Transport> {
  const { host, port = MESHTASTIC_TCP_PORT, connectTimeoutMs = 10_000, logger } = options;
  const where = `${host}:${port}`;
  return new Promise<Transport>((resolve, reject) => {
    const socket = new Socket();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new RadioError(
          "RADIO_TCP_UNREACHABLE",
          `No answer from the radio at ${where} after ${connectTimeoutMs} ms. Check the address and that the node is on the network.`,
        ),
      );
    }, connectTimeoutMs);
    timer.unref();
    const onError = (error: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(tcpConnectError(where, error));
    };
    socket.once("error", onError);
    socket.connect({ host, port }, () => {
      clearTimeout(timer);
      socket.off("error", onError);
      socket.setNoDelay(true);
      // A Wi-Fi node that drops off the network without a FIN is found out by keep-alive probes.
      socket.setKeepAlive(true, 30_000);
      logger?.info({ host, port }, "tcp connected");
      resolve(
        createStreamTransport(socket, {
          onDiscard: (length) => logger?.warn({ host, port, length }, "discarded a frame header with a length over 512"),
        }),
      );
    });
  });
}

export function tcpConnectError(where: string, error: NodeJS.ErrnoException): RadioError {
  switch (error.code) {
    case "ECONNREFUSED":
      return new RadioError(
        "RADIO_TCP_REFUSED",
        `Connection refused by ${where}. Check that meshtasticd is running or that the node has Wi-Fi/Ethernet enabled, and the port (4403 by default).`,
        { cause: error },
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new RadioError(
        "RADIO_TCP_HOST_NOT_FOUND",
        `Host ${where} not found. Check the name, or use the node's IP address.`,
        { cause: error },
      );
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "ETIMEDOUT":
      return new RadioError(
        "RADIO_TCP_UNREACHABLE",
        `Radio at ${where} is unreachable (${error.code}). Check that this machine and the node are on the same network.`,
        { cause: error },
      );
    default:
      return new RadioError("RADIO_TCP_FAILED", `Could not connect to the radio at ${where}: ${error.message}.`, {
        cause: error,
      });
  }
}
