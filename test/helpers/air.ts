// A small air for base stations in one process: what each station's scheduler sends reaches every
// other station's ScriptedRadio on meshaid's port, unless `lose` says the packet is lost there.
import type { RadioSender, SendRequest } from "../../src/radio/index.ts";
import { decodePayload, MESHAID_PORTNUM, type DecodedPayload } from "../../src/wire/index.ts";
import type { ScriptedRadio } from "./radio.ts";
import { codebook } from "./records.ts";

export interface AirNode {
  radio: ScriptedRadio;
  /** What this station put on the air, decoded. */
  sent: Array<{ request: SendRequest; decoded: DecodedPayload | undefined }>;
}

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
}
