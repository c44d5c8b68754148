// A small air for base stations in one process: what each station's scheduler sends reaches every
// other station's ScriptedRadio on meshaid's port, unless `lose` says the packet is lost there.
// `startStation` puts a real station (LevelDB store, sends and peers logs) on it.
import { join } from "node:path";
import { Level } from "level";
import pino from "pino";
import type { RadioSender, SendRequest } from "../../src/radio/index.ts";
import { Station, TransmitScheduler, type StationEvent, type StationOptions } from "../../src/station/index.ts";
import { PeerLog, RecordStore, SendLog, type RecordDatabase } from "../../src/store/index.ts";
import { decodePayload, MESHAID_PORTNUM, type AuthKey, type DecodedPayload } from "../../src/wire/index.ts";
import { ScriptedRadio } from "./radio.ts";
import { codebook, presets, site } from "./records.ts";

export interface AirNode {
  radio: ScriptedRadio;
  /** What this station put on the air, decoded. */
  sent: Array<{ request: SendRequest; decoded: DecodedPayload | undefined }>;
}

/** A station started on the air by `startStation`. */
export interface AirStation extends AirNode {
  num: number;
  station: Station;
  radio: ScriptedRadio;
  scheduler: TransmitScheduler;
  store: RecordStore;
  events: StationEvent[];
  /** Stops the station and closes its store (once), and takes it off the air. */
  close(): Promise<void>;
}

export interface AirStationOptions {
  /** The folder its LevelDB goes in (a subfolder named after its node number). */
  dir: string;
  peerTuning?: StationOptions["peerTuning"];
  /** The scheduler's pacing (default 0: sends go as fast as the tests need). */
  minIntervalMs?: number;
  auth?: AuthKey;
}

const silent = pino({ level: "silent" });

export class Air {
  readonly nodes = new Map<number, AirNode>();
  private packetId = 1;
  lose: (from: number, to: number, decoded: DecodedPayload | undefined) => boolean = () => false;

  sender(from: number): RadioSender {
    return {
      send: (request: SendRequest) => {
        const id = this.packetId++;
        const decoded = request.record ? decodePayload(request.record, codebook, from) : undefined;
        const value = decoded?.ok ? decoded.value : undefined;
        this.nodes.get(from)?.sent.push({ request, decoded: value });
        for (const [num, node] of this.nodes) {
          if (num === from || !request.record || this.lose(from, num, value)) continue;
          node.radio.hearBytes(from, id, request.record, MESHAID_PORTNUM);
        }
        return Promise.resolve(`r${id}`);
      },
    };
  }

  /** A real station as node `num` on this air: what its scheduler sends, the others hear. */
  async startStation(num: number, options: AirStationOptions): Promise<AirStation> {
    const db: RecordDatabase = new Level<string, Uint8Array>(join(options.dir, num.toString(16)), { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    const radio = new ScriptedRadio();
    const scheduler = new TransmitScheduler({ sender: this.sender(num), minIntervalMs: options.minIntervalMs ?? 0, dutyCycle: 1 });
    const station = new Station({
      name: num.toString(16),
      radio,
      store,
      presets,
      codebook,
      site,
      logger: silent,
      scheduler,
      sends: await SendLog.open(db),
      peers: await PeerLog.open(db),
      origin: num,
      ...(options.peerTuning ? { peerTuning: options.peerTuning } : {}),
      ...(options.auth ? { auth: options.auth } : {}),
    });
    const events: StationEvent[] = [];
    station.subscribe((event) => events.push(event));
    await station.start();
    let closed = false;
    const node: AirStation = {
      num,
      station,
      radio,
      scheduler,
      store,
      events,
      sent: [],
      close: async () => {
        if (closed) return;
        closed = true;
        this.nodes.delete(num);
        scheduler.close();
        await station.stop();
        await store.close();
      },
    };
    this.nodes.set(num, node);
    return node;
  }
}
