// The internet relay: every station's log to every peer over MQTT, signed, resumable (docs/relay.md).
export { Relay } from "./relay.ts";
export type { RelayOptions, RelayState, RelayPeerState, RelayLink, TrustList } from "./relay.ts";
export { sealEnvelope, openEnvelope, readHeader, signingKeyPair, publicKeyOf, ENVELOPE_KINDS, MAX_BODY_BYTES } from "./envelope.ts";
export type { Envelope, EnvelopeKind, BatchBody, VectorBody, WantBody, EnvelopeCheck } from "./envelope.ts";
export { Topics, isTopicLevel } from "./topics.ts";
export { parseRedaction, redactor, RedactionError } from "./redaction.ts";
export type { Redaction, RedactionRule, PlacePolicy } from "./redaction.ts";
export { Downlink, servedArea, isServed, RELAY_SENDER } from "./downlink.ts";
export type { DownlinkOptions, DownlinkState, DownlinkScheduler, ServedArea } from "./downlink.ts";
export { MshUplink, gatewayId } from "./msh-uplink.ts";
export type { MshUplinkOptions, MshUplinkState } from "./msh-uplink.ts";
