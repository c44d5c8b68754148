// docs/protocol.md's worked examples are the code's output: encode each example's records and
// compare the bytes, decode the bytes and compare the records.
import { expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { coalitionAuthKey, decodePayload, encodePayload, packControl, type OutgoingRecord, type StationControl } from "../../src/wire/index.ts";
import { codebook } from "../helpers/records.ts";

const doc = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");
const examples = [...doc.matchAll(/```wire-example\norigin: (0x[0-9a-f]+)\nrecords: (.+)\nhex: ([0-9a-f ]+)\n```/g)].map((match) => ({
  origin: Number(match[1]),
  records: JSON.parse(match[2]!) as OutgoingRecord[],
  hex: match[3]!.replaceAll(" ", ""),
}));

it("has worked examples of every record kind", () => {
  expect(new Set(examples.flatMap((example) => example.records.map((record) => record.body.kind)))).toEqual(
    new Set(["supply_request", "supply_offer", "incident", "shift", "checkin", "supply_status", "ack", "message"]),
  );
  expect(examples.some((example) => example.records.length > 1)).toBe(true);
  // One carries another origin's record with its own id (fields 32, 33), with a record after it.
  expect(examples.some((example) => example.records.slice(0, -1).some((record) => record.id !== undefined && record.id.origin !== example.origin))).toBe(true);
});

it.each(examples.map((example) => [example.hex, example] as const))("encodes and decodes %s as the doc says", (_hex, example) => {
  const encoded = encodePayload(example.records, codebook, { origin: example.origin });
  expect(encoded.ok && Buffer.from(encoded.value).toString("hex")).toBe(example.hex);
  const decoded = decodePayload(Buffer.from(example.hex, "hex"), codebook, example.origin);
  expect(decoded).toEqual({ ok: true, value: { records: example.records.map((record) => ({ id: record.id ?? { origin: example.origin, seq: record.seq }, body: record.body })) } });
});

it("attaches the codebook's hash as the doc's check-in example shows: field 31, fixed32, little-endian", () => {
  const encoded = encodePayload([{ seq: 21, body: { kind: "checkin", status: "ok" } }], codebook, { origin: 0x2a6f1c02, withCodebookHash: true });
  const hash = Buffer.from(codebook.hash, "hex").reverse().toString("hex");
  expect(encoded.ok && Buffer.from(encoded.value).toString("hex")).toBe(`7f1315fd01${hash}`);
  expect(doc).toContain("`7f 13 15 fd 01 ");
});

const authExamples = [...doc.matchAll(/```wire-auth-example\norigin: (0x[0-9a-f]+)\ncoalition secret: ([0-9a-f]+)\nrecords: (.+)\nhex: ([0-9a-f ]+)\n```/g)].map((match) => ({
  origin: Number(match[1]),
  key: coalitionAuthKey(Buffer.from(match[2]!, "hex")),
  records: JSON.parse(match[3]!) as OutgoingRecord[],
  hex: match[4]!.replaceAll(" ", ""),
}));

it("has worked examples of authenticated payloads, one with several records", () => {
  expect(authExamples.length).toBeGreaterThanOrEqual(2);
  expect(authExamples.some((example) => example.records.length > 1)).toBe(true);
});

it.each(authExamples.map((example) => [example.hex, example] as const))("authenticates %s as the doc says", (_hex, example) => {
  const encoded = encodePayload(example.records, codebook, { origin: example.origin, auth: example.key });
  expect(encoded.ok && Buffer.from(encoded.value).toString("hex")).toBe(example.hex);
  const bytes = Buffer.from(example.hex, "hex");
  const records = example.records.map((record) => ({ id: { origin: example.origin, seq: record.seq }, body: record.body }));
  expect(decodePayload(bytes, codebook, example.origin, example.key)).toEqual({ ok: true, value: { records, auth: "valid" } });
  // Without the key the tag is skipped; from another node number it fails.
  expect(decodePayload(bytes, codebook, example.origin)).toEqual({ ok: true, value: { records, auth: "unchecked" } });
  const spoofed = decodePayload(bytes, codebook, example.origin + 1, example.key);
  expect(spoofed.ok && spoofed.value.auth).toBe("invalid");
});

const authControlExamples = [...doc.matchAll(/```wire-auth-control-example\norigin: (0x[0-9a-f]+)\ncoalition secret: ([0-9a-f]+)\ncontrol: (.+)\nhex: ([0-9a-f ]+)\n```/g)].map((match) => ({
  origin: Number(match[1]),
  key: coalitionAuthKey(Buffer.from(match[2]!, "hex")),
  control: JSON.parse(match[3]!) as StationControl,
  hex: match[4]!.replaceAll(" ", ""),
}));

it("has worked examples of an authenticated held ACK, holding digest and resend request", () => {
  expect(authControlExamples.map((example) => example.control.kind).sort()).toEqual(["held", "held", "resend"]);
  expect(authControlExamples.some((example) => example.control.kind === "held" && example.control.digest !== undefined)).toBe(true);
});

it.each(authControlExamples.map((example) => [example.hex, example] as const))("authenticates the control %s as the doc says", (_hex, example) => {
  const packed = packControl(example.control, { origin: example.origin, auth: example.key });
  expect(packed.ok && packed.value.map((payload) => Buffer.from(payload).toString("hex"))).toEqual([example.hex]);
  const bytes = Buffer.from(example.hex, "hex");
  expect(decodePayload(bytes, codebook, example.origin, example.key)).toEqual({ ok: true, value: { records: [], control: example.control, auth: "valid" } });
  // The untagged control is the doc's earlier example: the same bytes without the trailer.
  expect(doc).toContain(`hex: ${example.hex.slice(0, -22).replace(/(..)(?!$)/g, "$1 ")}\n`);
  expect(decodePayload(bytes, codebook, example.origin)).toEqual({ ok: true, value: { records: [], control: example.control, auth: "unchecked" } });
  const spoofed = decodePayload(bytes, codebook, example.origin + 1, example.key);
  expect(spoofed.ok && spoofed.value.auth).toBe("invalid");
});
