// `meshaid sim --nodes N --listen tcp://127.0.0.1:4403`: a simulated mesh in real time whose
// radios any Meshtastic client can connect to (meshaid, the Python CLI, the web client over a
// TCP bridge). Node 1 listens on the given port, node k on port + k - 1 (port 0: any free ports).
import { DeviceRole, encodeUser, PortNum } from "../radio/index.ts";
import { SimNet, serveTcp, userOf, type SimNode, type SimTcpServer } from "../sim/index.ts";

export interface SimOptions {
  nodes: string;
  listen: string;
  /** How many of the nodes get a TCP port (default all). */
  expose?: string;
  seed?: string;
  preset?: string;
  /** Seconds between texts from each handheld (default 60; 0: none). */
  every?: string;
}

export async function runSim(options: SimOptions): Promise<number> {
  const fail = (line: string): number => {
    process.stderr.write(`meshaid sim: ${line}\n`);
    return 1;
  };
  const count = Number(options.nodes);
  if (!Number.isInteger(count) || count < 1 || count > 200) return fail(`--nodes must be a whole number from 1 to 200, not "${options.nodes}"`);
  let url: URL;
  try {
    url = new URL(options.listen);
  } catch {
    return fail(`--listen must look like tcp://127.0.0.1:4403, not "${options.listen}"`);
  }
  if (url.protocol !== "tcp:") return fail(`--listen must be a tcp:// address, not "${options.listen}"`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 4403);
  const expose = options.expose === undefined ? count : Number(options.expose);
  if (!Number.isInteger(expose) || expose < 1 || expose > count) return fail(`--expose must be from 1 to ${count}`);
  const every = options.every === undefined ? 60 : Number(options.every);
  if (!Number.isFinite(every) || every < 0) return fail(`--every must be a number of seconds`);

  let net: SimNet;
  try {
    net = new SimNet({ ...(options.seed !== undefined ? { seed: Number(options.seed) } : {}), ...(options.preset ? { preset: options.preset } : {}) });
  } catch (error) {
    return fail((error as Error).message);
  }
  const nodes: SimNode[] = [];
  for (let i = 0; i < count; i++) {
    const num = (0x5a000000 + ((i + 1) * 0x01010101) + i) >>> 0;
    const node: SimNode = { num, longName: `Sim ${i + 1}`, shortName: `S${i + 1}`.slice(0, 4), role: i === 0 ? DeviceRole.CLIENT_BASE : DeviceRole.CLIENT, hwModel: 9 };
    nodes.push(node);
    // A ring of 600 m around the first node: everyone one or two hops from it.
    const angle = (2 * Math.PI * i) / Math.max(1, count - 1);
    net.addNode({
      node,
      position: i === 0 ? { x: 0, y: 0 } : { x: 600 * Math.cos(angle), y: 600 * Math.sin(angle) },
      radio: { knownNodes: () => nodes.filter((other) => other.num !== num) },
    });
  }
  const servers: SimTcpServer[] = [];
  try {
    for (let i = 0; i < expose; i++) {
      const server = await serveTcp(net.radio(nodes[i]!.num), { host, port: port === 0 ? 0 : port + i });
      servers.push(server);
      process.stdout.write(`node ${nodes[i]!.shortName} (!${nodes[i]!.num.toString(16).padStart(8, "0")}) listening on ${server.url}\n`);
    }
  } catch (error) {
    for (const server of servers) await server.close();
    return fail(`cannot listen on ${host}:${port}: ${(error as Error).message}`);
  }
  for (const node of nodes) net.radio(node.num).originate({ portnum: PortNum.NODEINFO_APP, payload: encodeUser(userOf(node)) });
  const timers: NodeJS.Timeout[] = [];
  if (every > 0) {
    nodes.slice(1).forEach((node, i) => {
      const timer = setInterval(() => net.radio(node.num).originate({ portnum: PortNum.TEXT_MESSAGE_APP, payload: new TextEncoder().encode(`CHECK IN ${node.shortName}`) }), every * 1000 + i * 997);
      timers.push(timer);
    });
  }
  process.stdout.write(`${count} simulated nodes on ${options.preset ?? "LONG_FAST"}; Ctrl-C stops\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  for (const timer of timers) clearInterval(timer);
  for (const server of servers) await server.close();
  net.close();
  return 0;
}
