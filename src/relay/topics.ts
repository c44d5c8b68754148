// The relay's MQTT topics, all under one coalition root (`meshaid/<coalition>`):
//
//   <root>/log/<station>           the station's own log, in order (QoS 1)
//   <root>/vector/<station>        its version vector and head (QoS 1, retained)
//   <root>/want/<owner>            fill requests to the owner of a log (QoS 1)
//   <root>/ask/<owner>             a fill request to anyone holding the owner's log, when the
//                                  owner did not answer (QoS 1)
//   <root>/fill/<peer>/<owner>     the answer to one peer's fill request: the owner's signed
//                                  batches, from the owner or forwarded unchanged by another (QoS 1)

/** Names that can be a topic level: letters, digits, `.`, `_`, `-`, 1..64 characters. */
const TOPIC_LEVEL = /^[A-Za-z0-9._-]{1,64}$/;

export function isTopicLevel(name: string): boolean {
  return TOPIC_LEVEL.test(name);
}

export class Topics {
  readonly root: string;

  constructor(coalition: string) {
    this.root = `meshaid/${coalition}`;
  }

  log(station: string): string {
    return `${this.root}/log/${station}`;
  }

  vector(station: string): string {
    return `${this.root}/vector/${station}`;
  }

  want(owner: string): string {
    return `${this.root}/want/${owner}`;
  }

  ask(owner: string): string {
    return `${this.root}/ask/${owner}`;
  }

  fill(peer: string, owner: string): string {
    return `${this.root}/fill/${peer}/${owner}`;
  }

  /** What a station subscribes to. */
  subscriptions(me: string): string[] {
    return [`${this.root}/log/+`, `${this.root}/vector/+`, this.want(me), `${this.root}/ask/+`, `${this.root}/fill/${me}/+`];
  }

  /** Which topic this is, and the station it names: the signer, or for want and ask the owner asked about. */
  parse(topic: string): { kind: "log" | "vector" | "want" | "ask" | "fill"; station: string } | undefined {
    if (!topic.startsWith(`${this.root}/`)) return undefined;
    const parts = topic.slice(this.root.length + 1).split("/");
    const [kind, a, b] = parts;
    if (kind === "log" && parts.length === 2 && a) return { kind, station: a };
    if (kind === "vector" && parts.length === 2 && a) return { kind, station: a };
    // want/<owner>: the signer is the peer asking, named in the envelope.
    if (kind === "want" && parts.length === 2 && a) return { kind, station: a };
    // ask/<owner>: the same, addressed to anyone who holds the owner's log.
    if (kind === "ask" && parts.length === 2 && a) return { kind, station: a };
    if (kind === "fill" && parts.length === 3 && b) return { kind, station: b };
    return undefined;
  }
}
