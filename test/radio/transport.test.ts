import { createServer, type Server, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import {
  connectTcpTransport,
  createStreamTransport,
  RadioError,
  SERIAL_WAKE_BYTES,
} from "../../src/radio/index.ts";
import { duplexPair as simPipe } from "../../src/sim/index.ts";
import { duplexPair } from "./helpers.ts";
import { runTransportContract } from "./transport-contract.ts";

// The in-process fake that `meshaid sim`, drills and the tests use to reach a simulated radio
// (src/sim connectInProcess and SimUsbPort): the sim's own pipe under the stream transport.
runTransportContract("in-process fake (the simulator's pipe)", () => {
  const [device, host] = simPipe();
  const transport = createStreamTransport(host);
  return Promise.resolve({
    transport,
    device,
    endFromDevice: () => void device.end(),
    close: async () => {
      await transport.disconnect();
      device.destroy();
    },
  });
});

runTransportContract("in-process pipe", () => {
  const [host, device] = duplexPair();
  const transport = createStreamTransport(host);
  return Promise.resolve({
    transport,
    device,
    endFromDevice: () => void device.end(),
    close: async () => {
      await transport.disconnect();
      device.destroy();
    },
  });
});

runTransportContract("in-process pipe with serial wake-up bytes", () => {
  const [host, device] = duplexPair();
  const transport = createStreamTransport(host, { wakeBytes: SERIAL_WAKE_BYTES, wakeDelayMs: 1 });
  return Promise.resolve({
    transport,
    device,
    wakeBytes: SERIAL_WAKE_BYTES,
    endFromDevice: () => void device.end(),
    close: async () => {
      await transport.disconnect();
      device.destroy();
    },
  });
});

async function listen(): Promise<{ server: Server; port: number; connections: Socket[] }> {
  const server = createServer();
  const connections: Socket[] = [];
  server.on("connection", (socket) => connections.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return { server, port: address.port, connections };
}

runTransportContract("TCP socket on 127.0.0.1", async () => {
  const { server, port, connections } = await listen();
  const transport = await connectTcpTransport({ host: "127.0.0.1", port });
  await expect.poll(() => connections.length).toBe(1);
  const device = connections[0]!;
  return {
    transport,
    device,
    endFromDevice: () => void device.end(),
    close: async () => {
      await transport.disconnect();
      device.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
});

describe("connectTcpTransport", () => {
  it("rejects with RADIO_TCP_REFUSED naming host:port when nothing listens", async () => {
    const { server, port } = await listen();
    await new Promise<void>((resolve) => server.close(() => resolve())); // the port is now free
    const error = await connectTcpTransport({ host: "127.0.0.1", port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RadioError);
    expect(error).toMatchObject({ code: "RADIO_TCP_REFUSED" });
    expect((error as RadioError).message).toContain(`127.0.0.1:${port}`);
    expect((error as RadioError).message).not.toContain("\n");
  });
});
