// The station's control socket, both ends: `meshaid start` serves it on <data folder>/meshaid.sock
// (mode 0600, removed on exit, a stale one from a killed station replaced); `meshaid status`,
// `meshaid send` and `meshaid console` connect to it. The protocol is src/station's.
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { ControlClient, ControlError, serveControl, type ControlTarget, type OutgoingRequest, type RelayStatusReport, type SchedulerState, type StationStatus } from "../station/index.ts";
import { defaultDataDir } from "./paths.ts";

export const SOCKET_NAME = "meshaid.sock";

export function socketPath(dataDir: string): string {
  return join(dataDir, SOCKET_NAME);
}

/** Something the user can fix, in one line. */
export class ControlSocketError extends Error {}

/**
 * Listens on the data folder's control socket and serves each connection. A socket file left by
 * a station that was killed is replaced; one a running station answers on is not.
 */
export async function listenControl(dataDir: string, target: ControlTarget, options: { logger: Logger; transmit?: () => SchedulerState | undefined; relay?: () => RelayStatusReport | undefined }): Promise<{ path: string; close: () => Promise<void> }> {
  const path = socketPath(dataDir);
  await removeStaleSocket(path, dataDir);
  const log = options.logger.child({ module: "control" });
  const connections = new Set<Socket>();
  const server = createServer((socket) => {
    connections.add(socket);
    socket.once("close", () => connections.delete(socket));
    serveControl(socket, target, { logger: log, ...(options.transmit ? { transmit: options.transmit } : {}), ...(options.relay ? { relay: options.relay } : {}) });
  });
  // Owner only, from the moment it exists: the socket can act and send as this station.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolveListen, rejectListen) => {
      server.once("error", rejectListen);
      server.listen(path, () => {
        server.off("error", rejectListen);
        resolveListen();
      });
    });
  } catch (error) {
    throw new ControlSocketError(`cannot open the control socket ${path}: ${(error as Error).message}${path.length > 100 ? " (the path is too long for a socket: use a shorter --db)" : ""}`);
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  server.on("error", (error) => log.error({ err: error }, "control socket error"));
  log.info({ path }, "control socket listening");
  return { path, close: () => closeServer(server, connections, path) };
}

async function closeServer(server: Server, connections: Set<Socket>, path: string): Promise<void> {
  for (const socket of connections) socket.destroy();
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  try {
    unlinkSync(path);
  } catch {
    // already removed with the server
  }
}

async function removeStaleSocket(path: string, dataDir: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // none there
  }
  if (!isSocket) throw new ControlSocketError(`${path} is in the way of the control socket and is not one: move it out of the data folder`);
  if (await answers(path)) throw new ControlSocketError(`a station is already running with data folder ${dataDir} (it answers on ${path})`);
  unlinkSync(path); // left by a station that was killed
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = createConnection(path);
    socket.once("connect", () => {
      socket.destroy();
      resolveProbe(true);
    });
    socket.once("error", () => resolveProbe(false));
  });
}

/** Connects to the station running with `dataDir`, or says in one line that none is. */
export function connectControl(dataDir: string): Promise<ControlClient> {
  const path = socketPath(dataDir);
  return new Promise((resolveConnect, rejectConnect) => {
    const socket = createConnection(path);
    socket.once("connect", () => {
      socket.removeAllListeners("error");
      socket.on("error", () => undefined); // the client sees the close
      resolveConnect(new ControlClient(socket));
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ECONNREFUSED") {
        rejectConnect(new ControlSocketError(`no station is running with data folder ${dataDir}: start one with \`meshaid start --no-ui${dataDir === resolve(defaultDataDir()) ? "" : ` --db ${dataDir}`}\``));
      } else if (error.code === "EACCES") {
        rejectConnect(new ControlSocketError(`the control socket ${path} belongs to another user: run as the user that started the station`));
      } else rejectConnect(new ControlSocketError(`cannot reach the station at ${path}: ${error.message}`));
    });
  });
}

export interface ClientOptions {
  db?: string;
}

type Out = (line: string) => void;

/** `meshaid status`: the running station at a glance. */
export async function runStatus(options: ClientOptions & { json?: boolean }, out: Out, err: Out): Promise<number> {
  return withClient(options, err, async (client) => {
    const { status } = await client.request("status");
    if (options.json) out(JSON.stringify(status));
    else for (const line of statusLines(status)) out(line);
    return 0;
  });
}

/** `meshaid send`: a preset, typed text or plain message, logged and sent by the running station. */
export async function runSendCommand(text: string, options: ClientOptions & { to?: string; as?: string; stations?: boolean; json?: boolean }, out: Out, err: Out): Promise<number> {
  return withClient(options, err, async (client) => {
    const to: OutgoingRequest["to"] = options.to === undefined ? undefined : options.to === "channel" ? "channel" : /^\d+$/.test(options.to) ? { node: Number(options.to) } : { callsign: options.to };
    const send: OutgoingRequest = { text, ...(to !== undefined ? { to } : {}), ...(options.as ? { sender: options.as } : {}), ...(options.stations ? { stations: true } : {}) };
    const { outcome } = await client.request("send", { send });
    if (!outcome.ok) {
      err(`meshaid: not sent: ${outcome.reason}`);
      return 1;
    }
    if (options.json) out(JSON.stringify(outcome));
    else {
      const ids = outcome.records.map((id) => `${hex8(id.origin)}!${hex8(id.seq)}`).join(", ");
      out(`logged ${outcome.records.length} record${outcome.records.length === 1 ? "" : "s"} (${ids})${outcome.read ? `, read as ${outcome.read}` : ""}; ${outcome.packets} packet${outcome.packets === 1 ? "" : "s"} queued for the air`);
    }
    return 0;
  });
}

async function withClient(options: ClientOptions, err: Out, run: (client: ControlClient) => Promise<number>): Promise<number> {
  const dataDir = resolve(options.db ?? defaultDataDir());
  let client: ControlClient;
  try {
    client = await connectControl(dataDir);
  } catch (error) {
    err(`meshaid: ${(error as Error).message}`);
    return 1;
  }
  try {
    return await run(client);
  } catch (error) {
    if (error instanceof ControlError) {
      err(`meshaid: the station says: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    client.close();
  }
}

function statusLines(status: StationStatus): string[] {
  const lines = [
    `station   ${status.name}${status.origin !== undefined ? ` (!${hex8(status.origin)})` : ""}`,
    `radio     ${status.radio.status} (${status.radio.reason})`,
    `records   ${status.recordCount}`,
  ];
  const b = status.boards;
  lines.push(
    `requests  ${b.requests.open} open, ${b.requests.acknowledged} acknowledged, ${b.requests.en_route} en route, ${b.requests.delivered} delivered, ${b.requests.cancelled} cancelled${b.matches > 0 ? `; ${b.matches} with an offer to match` : ""}`,
    `incidents ${b.incidentsOpen} open`,
    `shifts    ${b.onShift} on shift, ${b.overdue} overdue`,
    `nodes     ${b.nodes}`,
  );
  if (status.transmit) {
    const t = status.transmit;
    const queued = Object.values(t.queued).reduce((sum, n) => sum + n, 0);
    lines.push(`transmit  ${queued} queued, airtime ${Math.round(t.airtimeUsedMs / 1000)} of ${Math.round(t.airtimeBudgetMs / 1000)} s this hour, channel ${t.channelUtilization.toFixed(1)} %`);
  }
  if (status.deliveries) {
    const d = status.deliveries;
    lines.push(`sent      ${d.queued} queued, ${d.sent} sent, ${d.heard} heard, ${d.confirmed} confirmed, ${d.failed} failed, ${d.unknown} unknown`);
  }
  for (const { id, delivery } of status.troubled ?? []) {
    lines.push(`  ${hex8(id.origin)}!${hex8(id.seq)} ${delivery.state} after ${delivery.attempts} attempt${delivery.attempts === 1 ? "" : "s"}${delivery.reason ? `: ${delivery.reason}` : ""}`);
  }
  // Group delivery and gap repair: the other base stations, what each holds of ours, what we lack of theirs.
  for (const peer of status.stations ?? []) {
    lines.push(`station   ${peer.callsign} (!${hex8(peer.num)}): holds ${peer.holdsOurs} of our records${peer.missingOurs > 0 ? `, lacks ${peer.missingOurs}` : ""}; its own reach seq ${peer.latest}; heard ${new Date(peer.lastHeard).toISOString()}`);
  }
  for (const gap of status.gaps?.asking ?? []) lines.push(`gap       asking ${gap.callsign} to resend ${gap.seqs.length} record(s) (seq ${gap.seqs.slice(0, 8).join(", ")}${gap.seqs.length > 8 ? " ..." : ""}), ${gap.requests} request(s) so far`);
  for (const gap of status.gaps?.gaveUp ?? []) lines.push(`gap       gave up on ${gap.seqs.length} record(s) of ${gap.callsign} (seq ${gap.seqs.slice(0, 8).join(", ")}${gap.seqs.length > 8 ? " ..." : ""}): they may come through the relay`);
  if (status.gaps && status.gaps.resent > 0) lines.push(`resent    ${status.gaps.resent} of our records on request`);
  if (status.relay) lines.push(...relayLines(status.relay, Date.now()));
  if (status.auth) {
    const a = status.auth;
    lines.push(`auth      coalition key ${a.key}; ${a.records} records unauthenticated, ${a.notApplied} state changes not applied, ${a.replaced ?? 0} forgeries replaced by the genuine record; ${a.suspects.length} flags`);
    for (const flag of a.suspects.slice(-5)) lines.push(`  !${hex8(flag.num)} ${flag.reason}: ${flag.detail}`);
  }
  return lines;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/** The relay's link, then one line per peer: what it still lacks of this station's log (its outbox) and when it was last heard. */
function relayLines(relay: RelayStatusReport, now: number): string[] {
  const lines = [`relay     ${relay.link}${relay.link !== "up" && relay.reason ? ` (${relay.reason})` : ""}, ${relay.broker}, ${relay.outboxPending} record(s) not yet acknowledged by the broker`];
  for (const peer of relay.peers) {
    const seen = peer.lastSeenAt === undefined ? "not heard yet" : `last heard ${Math.max(0, Math.round((now - peer.lastSeenAt) / 1000))} s ago`;
    lines.push(`peer      ${peer.station}: lacks ${peer.behind} of our records, we lack ${peer.missing} of its; ${seen}`);
  }
  return lines;
}
