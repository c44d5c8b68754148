import { PortNum, type LinkStatus, type RadioEvent, type RadioListener, type RadioSource, type ReceivedPacket } from "../../src/radio/index.ts";

const UTF8 = new TextEncoder();

/** A radio link the test plays: it emits what a real RadioLink would. */
export class ScriptedRadio implements RadioSource {
  status: LinkStatus = "connected";
  private readonly listeners = new Set<RadioListener>();
  subscribe(listener: RadioListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: RadioEvent): void {
    for (const listener of this.listeners) listener(event);
  }
  hear(from: number, id: number, text: string, portnum: number = PortNum.TEXT_MESSAGE_APP): void {
    this.hearBytes(from, id, UTF8.encode(text), portnum);
  }
  hearBytes(from: number, id: number, payload: Uint8Array, portnum: number): void {
    const packet: ReceivedPacket = {
      from,
      to: 0xffffffff,
      id,
      channel: 0,
      portnum,
      payload,
      rxTimeMs: undefined,
      rxSnr: 6,
      rxRssi: -90,
      hopLimit: 3,
      hopStart: 3,
    };
    this.emit({ type: "packet", packet });
  }
}

