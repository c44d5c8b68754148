// Test helpers for the radio link: an in-process byte pipe, a logger that records, and a reader
// that collects a transport's output.
import { Duplex, Writable } from "node:stream";
import pino, { type Logger } from "pino";
import type { DeviceOutput } from "../../src/radio/index.ts";

/**
 * One end of an in-process byte pipe (Node 20 has no stream.duplexPair). What one end writes the
 * other reads; ending or destroying one end ends the other's readable side, like a socket.
 */
class PipeEnd extends Duplex {
  peer: PipeEnd | undefined;

  override _read(): void {
    // data is pushed by the peer's writes
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.peer && !this.peer.destroyed && !this.peer.readableEnded) this.peer.push(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.endPeer();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.endPeer();
    callback(error);
  }

  private endPeer(): void {
    if (this.peer && !this.peer.destroyed && !this.peer.readableEnded) this.peer.push(null);
  }
}

export function duplexPair(): [Duplex, Duplex] {
  const a = new PipeEnd();
  const b = new PipeEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export interface LogEntry {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger that keeps every entry (parsed) in `entries`. */
export function capturingLogger(): { logger: Logger; entries: LogEntry[]; warnings: () => LogEntry[] } {
  const entries: LogEntry[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim()) entries.push(JSON.parse(line) as LogEntry);
      }
      callback();
    },
  });
  const logger = pino({ level: "trace" }, sink);
  return { logger, entries, warnings: () => entries.filter((entry) => entry.level === 40) };
}

/** Reads a transport's output in the background; `done` is set once the stream has closed. */
export function collect(stream: ReadableStream<DeviceOutput>): { outputs: DeviceOutput[]; state: { done: boolean } } {
  const outputs: DeviceOutput[] = [];
  const state = { done: false };
  void (async () => {
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      outputs.push(value);
    }
    state.done = true;
  })();
  return { outputs, state };
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
