// Nodes whose behaviour contradicts their history. Channel messages are not authenticated, so a
// node number is only a claim: when the same number suddenly reports other hardware, another
// public key or another role, a "handheld" starts sending base-station records, a payload's
// coalition tag fails, or its positions jump farther than anyone can move, the console flags it.
import type { RadioNode, NodePosition } from "../radio/index.ts";
import type { WatchedNode, WatchFlag } from "../store/index.ts";

export type SuspectReason = "identity-changed" | "role-changed" | "impossible-move" | "handheld-sends-station-records" | "bad-tag" | "untagged-state-change" | "untagged-control" | "id-preempted";

/** One observation that a node number may be used by someone else. */
export interface NodeFlag {
  num: number;
  reason: SuspectReason;
  /** What was seen, in words (no names: node numbers, codes, distances). */
  detail: string;
  /** When it was seen (the station's clock). */
  at: number;
}

/** Faster than this between two fixes is no one on foot, on a bike or in a van in a crowd. */
const MAX_SPEED_MPS = 70;
/** Jumps shorter than this are GPS noise or coarse position precision, never flagged. */
const MIN_JUMP_M = 1_000;
/** Positions with fewer bits of precision are too coarse to judge (Meshtastic's default channel precision is 13-16 bits). */
const MIN_PRECISION_BITS = 17;
/** Flags kept per node, and nodes kept flagged, so a hostile node cannot grow memory. */
const FLAGS_KEPT = 200;

type History = WatchedNode;

/** Where the watch keeps what it learns, so a restart forgets neither a node's history nor its flags (the store's WatchLog). */
export interface NodeWatchMemory {
  putNode(num: number, node: WatchedNode): Promise<void>;
  putFlag(flag: WatchFlag): Promise<void>;
}

export class NodeWatch {
  private readonly history = new Map<number, History>();
  private readonly flagged: NodeFlag[] = [];

  private readonly onFlag: (flag: NodeFlag) => void;
  private readonly memory: NodeWatchMemory | undefined;
  private readonly onMemoryError: (error: unknown) => void;

  constructor(onFlag: (flag: NodeFlag) => void = () => undefined, memory?: { log: NodeWatchMemory; onError: (error: unknown) => void }) {
    this.onFlag = onFlag;
    this.memory = memory?.log;
    this.onMemoryError = memory?.onError ?? (() => undefined);
  }

  /** What an earlier run learnt (the memory's contents), without flagging anything again. */
  restore(nodes: ReadonlyArray<{ num: number; node: WatchedNode }>, flags: readonly WatchFlag[]): void {
    for (const { num, node } of nodes) this.history.set(num, { ...node });
    for (const flag of flags.slice(-FLAGS_KEPT)) this.flagged.push({ ...flag, reason: flag.reason as SuspectReason });
  }

  private keep(num: number): void {
    const history = this.history.get(num);
    if (history && this.memory) this.memory.putNode(num, history).catch(this.onMemoryError);
  }

  private of(num: number): History {
    let history = this.history.get(num);
    if (!history) {
      history = { texts: 0, payloads: 0 };
      this.history.set(num, history);
    }
    return history;
  }

  private flag(num: number, reason: SuspectReason, detail: string, at: number): void {
    const flag = { num, reason, detail, at };
    this.flagged.push(flag);
    if (this.flagged.length > FLAGS_KEPT) this.flagged.splice(0, this.flagged.length - FLAGS_KEPT);
    this.memory?.putFlag(flag).catch(this.onMemoryError);
    this.onFlag(flag);
  }

  /** The latest flags, oldest first. */
  flags(): NodeFlag[] {
    return [...this.flagged];
  }

  /** What was known of a node before this run (the roster on disk), without flagging anything. */
  remember(num: number, known: { hwModel?: number; role?: number }): void {
    const history = this.of(num);
    if (known.hwModel !== undefined) history.hwModel = known.hwModel;
    if (known.role !== undefined) history.role = known.role;
  }

  /** Whether anything is known of a node (from the roster or an earlier run). */
  knows(num: number): boolean {
    return this.history.has(num);
  }

  /** NODEINFO: hardware, role and public key should not change under one node number. */
  node(node: RadioNode, at: number): void {
    const history = this.of(node.num);
    const changed = (was: number | string | undefined, now: number | string | undefined): boolean => was !== undefined && now !== undefined && was !== now;
    if (changed(history.hwModel, node.hwModel)) this.flag(node.num, "identity-changed", `hardware model ${history.hwModel} is now ${node.hwModel}`, at);
    if (changed(history.publicKey, node.publicKey)) this.flag(node.num, "identity-changed", `public key ${short(history.publicKey)} is now ${short(node.publicKey)}`, at);
    if (changed(history.role, node.role)) this.flag(node.num, "role-changed", `device role ${history.role} is now ${node.role}`, at);
    const before = `${history.hwModel}/${history.role}/${history.publicKey}`;
    history.hwModel = node.hwModel;
    history.role = node.role;
    if (node.publicKey) history.publicKey = node.publicKey;
    if (`${history.hwModel}/${history.role}/${history.publicKey}` !== before) this.keep(node.num);
  }

  /** A position: flagged when it is farther from the last fix than anyone could have moved since. */
  position(num: number, position: NodePosition, at: number): void {
    if (position.precisionBits !== 0 && position.precisionBits < MIN_PRECISION_BITS) return;
    const history = this.of(num);
    const fix = { lat: position.latitude, lon: position.longitude, at: position.timeMs ?? at };
    const last = history.lastFix;
    history.lastFix = fix;
    this.keep(num);
    if (!last) return;
    const metres = distanceM(last, fix);
    if (metres < MIN_JUMP_M) return;
    const seconds = Math.max(1, Math.abs(fix.at - last.at) / 1000);
    if (metres / seconds > MAX_SPEED_MPS) this.flag(num, "impossible-move", `moved ${Math.round(metres)} m in ${Math.round(seconds)} s`, at);
  }

  /** An unauthenticated record had taken the id (origin, seq) of this base station's authenticated one (replaced since). */
  preempted(num: number, seq: number, at: number): void {
    this.flag(num, "id-preempted", `seq ${seq} was taken by an unauthenticated record (replaced by the tagged one, kept as evidence)`, at);
  }

  /** Text from a stock handheld (presets, typed text). */
  text(num: number): void {
    const history = this.of(num);
    history.texts += 1;
    if (history.texts === 1) this.keep(num); // only whether any came before a payload matters
  }

  /**
   * A meshaid payload (port 300), with what its coalition tag said when the station holds the key:
   * `valid`, `invalid`, or `absent` (`stateChange`: it would have changed the boards).
   */
  payload(num: number, tag: "valid" | "invalid" | "absent" | "unchecked", stateChange: boolean, at: number, control?: "held" | "resend"): void {
    const history = this.of(num);
    if (history.payloads === 0 && history.texts > 0) this.flag(num, "handheld-sends-station-records", `sent ${history.texts} handheld text${history.texts === 1 ? "" : "s"}, now a base-station payload`, at);
    history.payloads += 1;
    if (history.payloads === 1) this.keep(num);
    if (tag === "invalid") this.flag(num, "bad-tag", `coalition tag does not verify${control ? ` (${controlName(control)} ignored)` : ""}`, at);
    else if (tag === "absent" && control) this.flag(num, "untagged-control", `untagged ${controlName(control)} (ignored)`, at);
    else if (tag === "absent" && stateChange) this.flag(num, "untagged-state-change", "untagged state change (not applied)", at);
  }
}

function controlName(control: "held" | "resend"): string {
  return control === "held" ? "held ACK" : "resend request";
}

function short(key: string | undefined): string {
  return key === undefined ? "?" : `${key.slice(0, 8)}…`;
}

function distanceM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.min(1, Math.sqrt(h)));
}
