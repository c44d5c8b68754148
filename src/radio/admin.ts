// Admin messages to the radio on the other end of the link: read and write its settings
// (reference: ../shared/reference/meshtastic-protocol.md section 6; firmware AdminModule.cpp).
//
// Every request is a MeshPacket to the radio's own node number on ADMIN_APP with want_response
// and want_ack. A getter is answered by an ADMIN_APP packet whose request_id is the request's
// packet id; a setter by a Routing packet (NONE = done, anything else = refused, with the reason).
// The firmware trusts its local client without a session passkey, but it puts one in every
// get-response; like the official clients we echo the latest one in every setter, so the same
// code keeps working where the firmware does check it (remote admin).
//
// Settings changed between begin_edit_settings and commit_edit_settings stay in RAM; the commit
// saves them and reboots the radio (after 7 s). A bridge-chip board keeps its serial port and
// announces FromRadio.rebooted; a native-USB board or a TCP radio drops the link and comes back.
// AdminSession rides out both.
import { randomInt } from "node:crypto";
import type { Logger } from "pino";
import { RadioLink, type RadioLinkOptions } from "./link.ts";
import {
  CONFIG_TYPE,
  MODULE_CONFIG_TYPE,
  PortNum,
  channelFromJson,
  channelToJson,
  configFromJson,
  configToJson,
  moduleConfigFromJson,
  moduleConfigToJson,
  userFromJson,
  userToJson,
  decodeAdmin,
  decodeRoutingError,
  encodeAdmin,
  routingErrorName,
  type ConfigSection,
  type JsonObject,
  type ModuleSection,
} from "./protocol.ts";
import type { Transport } from "./transport.ts";
import type { RadioEvent } from "./types.ts";

export type AdminErrorCode =
  /** The radio answered with a Routing error (BAD_REQUEST, NOT_AUTHORIZED, ADMIN_BAD_SESSION_KEY ...). */
  | "ADMIN_REFUSED"
  /** No answer in time (a message over a firmware size limit is dropped without one). */
  | "ADMIN_NO_REPLY"
  /** The link closed while a request waited. */
  | "ADMIN_LINK_LOST"
  /** The radio did not come back after the reboot a commit causes. */
  | "ADMIN_REBOOT_TIMEOUT";

/** An admin request that failed; the message is one line naming the request and what to try. */
export class AdminError extends Error {
  override readonly name = "AdminError";
  readonly code: AdminErrorCode;

  constructor(code: AdminErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export interface AdminClientOptions {
  link: RadioLink;
  logger: Logger;
  /** How long one request waits for its answer (default 15 s). */
  replyTimeoutMs?: number;
  /** Packet ids (tests pin them); default random non-zero uint32. */
  packetId?: () => number;
}

type Expect = "response" | "ack";

/** Admin requests over one connected RadioLink. */
export class AdminClient {
  private readonly link: RadioLink;
  private readonly log: Logger;
  private readonly replyTimeoutMs: number;
  private readonly packetId: () => number;
  private passkey: string | undefined;

  constructor(options: AdminClientOptions) {
    this.link = options.link;
    this.log = options.logger;
    this.replyTimeoutMs = options.replyTimeoutMs ?? 15_000;
    this.packetId = options.packetId ?? (() => randomInt(1, 0xffff_ffff));
  }

  async getConfig(section: ConfigSection): Promise<JsonObject> {
    const reply = await this.request({ getConfigRequest: CONFIG_TYPE[section] }, "response", `get_config ${section}`);
    // Every field, defaults included (the wire leaves out zeros such as LONG_FAST and ALL).
    return field(configToJson(configFromJson({ [section]: field(field(reply, "getConfigResponse"), section) })), section);
  }

  async getModuleConfig(section: ModuleSection): Promise<JsonObject> {
    const reply = await this.request({ getModuleConfigRequest: MODULE_CONFIG_TYPE[section] }, "response", `get_module_config ${section}`);
    return field(moduleConfigToJson(moduleConfigFromJson({ [section]: field(field(reply, "getModuleConfigResponse"), section) })), section);
  }

  /** The channel at index 0..7 ({ index, role, settings }). */
  async getChannel(index: number): Promise<JsonObject> {
    const reply = await this.request({ getChannelRequest: index + 1 }, "response", `get_channel ${index}`);
    const channel = channelToJson(channelFromJson(field(reply, "getChannelResponse")));
    return { ...channel, settings: field(channel, "settings") };
  }

  /** The radio's User ({ id, longName, shortName, ... }). */
  async getOwner(): Promise<JsonObject> {
    return userToJson(userFromJson(field(await this.request({ getOwnerRequest: true }, "response", "get_owner"), "getOwnerResponse")));
  }

  async getMetadata(): Promise<JsonObject> {
    return field(await this.request({ getDeviceMetadataRequest: true }, "response", "get_device_metadata"), "getDeviceMetadataResponse");
  }

  /**
   * The canned-message string, or undefined when the radio has no canned-message module (boards
   * without a screen answer with a bare ACK).
   */
  async getCannedMessages(): Promise<string | undefined> {
    const reply = await this.request({ getCannedMessageModuleMessagesRequest: true }, "response", "get_canned_messages");
    if (reply === undefined) return undefined;
    const text = reply["getCannedMessageModuleMessagesResponse"];
    return typeof text === "string" ? text : "";
  }

  /** Opens an edit transaction: later settings stay in RAM until commit(). */
  async beginEdit(): Promise<void> {
    await this.request({ beginEditSettings: true }, "ack", "begin_edit_settings");
  }

  async setOwner(owner: { longName: string; shortName: string }): Promise<void> {
    await this.request({ setOwner: { longName: owner.longName, shortName: owner.shortName } }, "ack", "set_owner");
  }

  async setChannel(channel: JsonObject): Promise<void> {
    await this.request({ setChannel: channel }, "ack", `set_channel ${typeof channel["index"] === "number" ? channel["index"] : 0}`);
  }

  async setConfig(section: ConfigSection, value: JsonObject): Promise<void> {
    await this.request({ setConfig: { [section]: value } }, "ack", `set_config ${section}`);
  }

  async setModuleConfig(section: ModuleSection, value: JsonObject): Promise<void> {
    await this.request({ setModuleConfig: { [section]: value } }, "ack", `set_module_config ${section}`);
  }

  async setCannedMessages(text: string): Promise<void> {
    await this.request({ setCannedMessageModuleMessages: text }, "ack", "set_canned_messages");
  }

  /** Saves the transaction's settings. The radio reboots about 7 s later. */
  async commit(): Promise<void> {
    await this.request({ commitEditSettings: true }, "ack", "commit_edit_settings");
  }

  private request(message: JsonObject, expect: Expect, what: string): Promise<JsonObject | undefined> {
    const to = this.link.myNodeNum;
    if (to === undefined || this.link.status !== "connected") {
      return Promise.reject(new AdminError("ADMIN_LINK_LOST", `${what}: the radio link is ${this.link.status}; reconnect the radio and try again.`));
    }
    const id = this.packetId();
    const payload = encodeAdmin(expect === "ack" && this.passkey !== undefined ? { ...message, sessionPasskey: this.passkey } : message);
    return new Promise<JsonObject | undefined>((resolve, reject) => {
      const finish = (error: AdminError | undefined, value?: JsonObject): void => {
        clearTimeout(timer);
        unsubscribe();
        if (error) reject(error);
        else resolve(value);
      };
      const timer = setTimeout(
        () =>
          finish(
            new AdminError(
              "ADMIN_NO_REPLY",
              `${what}: the radio did not answer within ${this.replyTimeoutMs / 1000} s (a message over a firmware size limit is dropped without an answer). Check the radio runs Meshtastic 2.x and try again.`,
            ),
          ),
        this.replyTimeoutMs,
      );
      const unsubscribe = this.link.subscribe((event: RadioEvent) => {
        if (event.type === "status" && (event.status === "closed" || event.status === "reconnecting")) {
          finish(new AdminError("ADMIN_LINK_LOST", `${what}: the link to the radio was lost (${event.reason}) before it answered.`));
          return;
        }
        if (event.type !== "packet" || event.packet.requestId !== id) return;
        const { portnum, payload: body } = event.packet;
        if (portnum === PortNum.ROUTING_APP) {
          let code: number | undefined;
          try {
            code = decodeRoutingError(body);
          } catch {
            return;
          }
          if (code !== undefined && code !== 0) {
            finish(new AdminError("ADMIN_REFUSED", `${what}: the radio refused it (${routingErrorName(code)}).`));
          } else {
            // A bare ACK: done for a setter; for a getter, the module is not on this radio.
            finish(undefined, undefined);
          }
          return;
        }
        if (portnum !== PortNum.ADMIN_APP) return;
        let reply: JsonObject;
        try {
          reply = decodeAdmin(body);
        } catch (error) {
          this.log.warn({ err: error, what }, "undecodable admin reply skipped");
          return;
        }
        if (typeof reply["sessionPasskey"] === "string" && reply["sessionPasskey"] !== "") this.passkey = reply["sessionPasskey"];
        finish(undefined, reply);
      });
      this.log.debug({ what, id }, "admin request");
      this.link
        .sendPacket({ to, id, channel: 0, wantAck: true, payloadVariant: { case: "decoded", value: { portnum: PortNum.ADMIN_APP, payload, wantResponse: true } } })
        .catch((error: unknown) => finish(new AdminError("ADMIN_LINK_LOST", `${what}: writing to the radio failed: ${(error as Error).message}`, { cause: error })));
    });
  }
}

function field(reply: JsonObject | undefined, name: string): JsonObject {
  const value = reply?.[name];
  if (typeof value !== "object" || value === null) return {};
  return value as JsonObject;
}

export interface AdminSessionOptions {
  /** Opens the byte stream to the radio; called again after the reboot a commit causes. */
  open: () => Promise<Transport>;
  logger: Logger;
  link?: Omit<RadioLinkOptions, "transport" | "logger">;
  replyTimeoutMs?: number;
  /** How long the radio gets to reboot and finish a new handshake after a commit (default 90 s). */
  rebootTimeoutMs?: number;
  /** Wait between attempts to open the port again while the radio reboots (default 1 s). */
  reopenEveryMs?: number;
  /**
   * A radio that neither says `rebooted` nor drops the link this long after a commit has
   * rebooted quietly (its API session is gone): the link is reopened (default 20 s, beyond the
   * firmware's 7 s reboot delay and its boot).
   */
  quietRebootAfterMs?: number;
}

/**
 * One radio being set up: a RadioLink with its handshake done and an AdminClient on it, which
 * survive the reboot of a commit (the link is reopened when the radio dropped it).
 */
export class AdminSession {
  private readonly options: AdminSessionOptions;
  private current: { link: RadioLink; admin: AdminClient };

  private constructor(options: AdminSessionOptions, link: RadioLink) {
    this.options = options;
    this.current = { link, admin: this.clientFor(link) };
  }

  /** Opens the radio and runs the configure handshake; rejects with the RadioError of the open or handshake. */
  static async open(options: AdminSessionOptions): Promise<AdminSession> {
    const link = await startLink(options);
    return new AdminSession(options, link);
  }

  get admin(): AdminClient {
    return this.current.admin;
  }

  /** The radio's node number. */
  get nodeNum(): number {
    const num = this.current.link.myNodeNum;
    if (num === undefined) throw new AdminError("ADMIN_LINK_LOST", "the radio has not said its node number");
    return num;
  }

  /**
   * Commits the open edit transaction and waits until the radio has rebooted and finished a new
   * handshake, on the same stream (FromRadio.rebooted) or a reopened one.
   */
  async commitAndWaitForReboot(): Promise<void> {
    const { link } = this.current;
    const timeoutMs = this.options.rebootTimeoutMs ?? 90_000;
    const log = this.options.logger;
    // Watch before committing: a radio may drop the link right after its ACK.
    let sawReboot = false;
    let quietTimer: ReturnType<typeof setTimeout> | undefined;
    const settled = new Promise<"same-link" | "link-closed" | "quiet">((resolve) => {
      const unsubscribe = link.subscribe((event) => {
        if (event.type !== "status") return;
        if (event.reason === "device-rebooted") sawReboot = true;
        if (event.status === "connected" && sawReboot) {
          unsubscribe();
          resolve("same-link");
        } else if (event.status === "closed") {
          unsubscribe();
          resolve("link-closed");
        }
      });
      quietTimer = setTimeout(() => {
        if (sawReboot) return; // rebooted and handshaking: wait for it
        unsubscribe();
        resolve("quiet");
      }, this.options.quietRebootAfterMs ?? 20_000);
    });
    try {
      await this.current.admin.commit();
    } catch (error) {
      // The radio may go down before its ACK reaches us; the reboot below is the proof either way.
      if (!(error instanceof AdminError && error.code === "ADMIN_LINK_LOST")) throw error;
      log.info({ err: error }, "link lost right after commit: the radio is rebooting");
    }
    const deadline = Date.now() + timeoutMs;
    let outcome: "same-link" | "link-closed" | "quiet";
    try {
      outcome = await withTimeout(settled, timeoutMs, () => rebootTimeout(timeoutMs));
    } finally {
      clearTimeout(quietTimer);
    }
    if (outcome === "same-link") return;
    if (outcome === "quiet") log.info("no sign of the reboot on the link: opening the radio again");
    await link.close();
    const every = this.options.reopenEveryMs ?? 1_000;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        const next = await startLink(this.options);
        this.current = { link: next, admin: this.clientFor(next) };
        return;
      } catch (error) {
        lastError = error;
        log.debug({ err: error }, "radio not back yet");
        await sleep(every);
      }
    }
    throw rebootTimeout(timeoutMs, lastError);
  }

  async close(): Promise<void> {
    await this.current.link.close();
  }

  private clientFor(link: RadioLink): AdminClient {
    return new AdminClient({
      link,
      logger: this.options.logger,
      ...(this.options.replyTimeoutMs !== undefined ? { replyTimeoutMs: this.options.replyTimeoutMs } : {}),
    });
  }
}

async function startLink(options: AdminSessionOptions): Promise<RadioLink> {
  const transport = await options.open();
  const link = new RadioLink({ ...options.link, transport, logger: options.logger });
  await link.start();
  return link;
}

function rebootTimeout(timeoutMs: number, cause?: unknown): AdminError {
  return new AdminError(
    "ADMIN_REBOOT_TIMEOUT",
    `The radio did not come back within ${Math.round(timeoutMs / 1000)} s of saving its settings. Unplug it, plug it in again and run \`meshaid check\` to see what it kept.`,
    cause === undefined ? undefined : { cause },
  );
}

async function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(error()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
