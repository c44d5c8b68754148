// The profile reader: the shipped profiles fill in and pass their own limits, bad YAML or a bad
// setting is one ProfileError naming the file and the setting (never a crash), and the canned
// messages generated from the preset table are held to the firmware's 200 bytes and 50 entries.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { ProfileError, compareWithProfile, keyFingerprint, readProfile, renderForOfficialTool, type ProfileInputs } from "../../src/cli/profile.ts";
import { decodeChannelUrl } from "../../src/radio/index.ts";
import { parseCodebook, parsePresetTable, parseYamlText } from "../../src/wire/index.ts";

const root = new URL("../../", import.meta.url).pathname;
const codebook = parseCodebook(readFileSync(join(root, "firmware-config/codebook.yaml"), "utf8"));
const presets = parsePresetTable(readFileSync(join(root, "firmware-config/presets.yaml"), "utf8"), codebook);
const key = new Uint8Array(32).map((_, i) => i * 7 + 1);
const inputs: ProfileInputs = { callsign: "M7", channelKey: key, presets };
const profilesDir = join(root, "firmware-config/profiles");
const minimal = (extra = ""): string => `owner: "Medic {callsign}"\nowner_short: "{callsign}"\nchannels:\n  - name: meshaid\n    psk: "{channel_key}"\n${extra}`;

describe("device profiles", () => {
  it("ships base, medic, marshal and relay profiles that fill in and keep every limit", () => {
    const names = readdirSync(profilesDir).filter((file) => file.endsWith(".yaml")).map((file) => file.slice(0, -5)).sort();
    expect(names).toEqual(["base", "marshal", "medic", "relay"]);
    for (const name of names) {
      const profile = readProfile(name, readFileSync(join(profilesDir, `${name}.yaml`), "utf8"), `${name}.yaml`, inputs);
      expect(profile.owner.shortName).toBe("M7");
      expect(profile.config.device?.["rebroadcastMode"]).toBe("ALL");
      expect(profile.channels[0]).toMatchObject({ role: "PRIMARY", settings: { name: "meshaid", psk: Buffer.from(key).toString("base64") } });
    }
  });

  it("generates the handhelds' canned messages from the preset table, in its order", () => {
    const medic = readProfile("medic", readFileSync(join(profilesDir, "medic.yaml"), "utf8"), "medic.yaml", inputs);
    const expected = presets.presets.filter((preset) => preset.roles.includes("medic")).map((preset) => preset.text);
    expect(medic.cannedMessages?.split("|")).toEqual(expected);
  });

  it("renders a profile for meshtastic --configure: the channel as a channel_url holding the key and the LoRa settings", () => {
    const relay = readProfile("relay", readFileSync(join(profilesDir, "relay.yaml"), "utf8"), "relay.yaml", { ...inputs, callsign: "R1", region: "EU_868" });
    const rendered = parseYamlText(renderForOfficialTool(relay)) as Record<string, unknown>;
    expect(rendered).toMatchObject({ owner: "Relay R1", owner_short: "R1", config: { device: { role: "ROUTER", rebroadcastMode: "ALL" }, lora: { region: "EU_868" } } });
    expect(rendered).not.toHaveProperty("channels");
    const set = decodeChannelUrl(String(rendered["channel_url"]));
    expect(set).toMatchObject({ settings: [{ name: "meshaid", psk: Buffer.from(key).toString("base64") }], loraConfig: { region: "EU_868", modemPreset: "LONG_FAST" } });
  });

  it("reads a channel_url as `meshtastic --export-config` writes it, and refuses one with a public key", () => {
    const rendered = renderForOfficialTool(readProfile("medic", readFileSync(join(profilesDir, "medic.yaml"), "utf8"), "medic.yaml", inputs));
    const exported = readProfile("exported", rendered.replace(/^#.*\n/, ""), "exported.yaml", inputs);
    expect(exported.channels[0]).toMatchObject({ role: "PRIMARY", settings: { name: "meshaid", psk: Buffer.from(key).toString("base64") } });
    expect(exported.config.lora).toMatchObject({ region: "US", modemPreset: "LONG_FAST" });
    const publicChannel = "owner: x\nowner_short: X\nchannel_url: https://meshtastic.org/e/#CgMSAQESAggB\n";
    expect(() => readProfile("p", publicChannel, "p.yaml", inputs)).toThrow(/p\.yaml: channels\[0\]\.psk: must be 32 bytes/);
    expect(() => readProfile("p", "owner: x\nowner_short: X\nchannel_url: https://example.org/#@@@\n", "p.yaml", inputs)).toThrow(ProfileError);
  });

  it.each([
    ["a relay that would drop meshaid's port", minimal("config:\n  device:\n    role: ROUTER\n"), /config\.device\.rebroadcastMode: a ROUTER must set ALL/],
    ["CORE_PORTNUMS_ONLY anywhere", minimal("config:\n  device:\n    rebroadcastMode: CORE_PORTNUMS_ONLY\n"), /CORE_PORTNUMS_ONLY drops meshaid's records/],
    ["a modem preset the firmware does not have", minimal("config:\n  lora:\n    modemPreset: FASTEST\n"), /config\.lora: .*ModemPreset.*"FASTEST"/],
    ["a misspelt setting", minimal("config:\n  lora:\n    hop_limt: 3\n"), /config\.lora: .*key "hop_limt" is unknown/],
    ["an unknown section", minimal("config:\n  radio: {}\n"), /config\.radio: unknown section/],
    ["a short name over 4 bytes", minimal().replace('owner_short: "{callsign}"', 'owner_short: "{callsign}XYZ"'), /owner_short: "M7XYZ" is 5 bytes; a radio holds 4/],
    ["a blank owner", minimal().replace('owner: "Medic {callsign}"', 'owner: "   "'), /owner: must contain a character other than a space/],
    ["a channel name over 11 bytes", minimal().replace("name: meshaid", "name: meshaid-coalition"), /channels\[0\]\.name: "meshaid-coalition" is 17 bytes; a radio holds 11/],
    ["a key that is not AES-256", minimal().replace('"{channel_key}"', "AQ=="), /channels\[0\]\.psk: must be 32 bytes/],
    ["an unknown placeholder", minimal().replace("{callsign}", "{name}"), /unknown placeholder \{name\}/],
    ["presets of a role the table lacks", minimal('canned_messages: "{presets:cook}"\n'), /no presets for the role "cook"/],
    ["canned messages over 200 bytes", minimal(`canned_messages: "${"NEED WATER|".repeat(19)}X"\n`), /canned_messages: 2\d\d bytes; a radio holds 200/],
    ["more than 50 canned messages", minimal(`canned_messages: "${"A|".repeat(50)}B"\n`), /canned_messages: 51 entries; a radio holds 50/],
    ["an unknown top-level key", minimal("ownr: x\n"), /ownr: unknown key/],
    ["bad YAML", "owner: [unclosed\n", /p\.yaml: not valid YAML/],
  ])("refuses %s with the reason", (_what, text, reason) => {
    expect(() => readProfile("p", text, "p.yaml", inputs)).toThrow(ProfileError);
    expect(() => readProfile("p", text, "p.yaml", inputs)).toThrow(reason);
  });

  it("never crashes on arbitrary text: a profile or one ProfileError", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        try {
          readProfile("p", text, "p.yaml", inputs);
        } catch (error) {
          expect(error).toBeInstanceOf(ProfileError);
          expect((error as Error).message).toMatch(/^p\.yaml: /);
          expect((error as Error).message).not.toContain("\n");
        }
      }),
      { numRuns: 300 },
    );
  });

  it("never crashes on arbitrary YAML documents shaped like profiles", () => {
    const value = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom("LONG_FAST", "ALL", "ROUTER", "{callsign}", "{channel_key}", "{presets:medic}"));
    const section = fc.dictionary(fc.constantFrom("role", "rebroadcastMode", "modemPreset", "region", "hopLimit", "enabled", "bogus", "screen_on_secs"), value);
    const document = fc.record(
      {
        owner: value,
        owner_short: value,
        canned_messages: value,
        channels: fc.array(fc.dictionary(fc.constantFrom("name", "psk", "uplinkEnabled"), value), { maxLength: 9 }),
        config: fc.dictionary(fc.constantFrom("device", "lora", "display", "radio"), section),
        module_config: fc.dictionary(fc.constantFrom("mqtt", "telemetry", "canned_message", "nothing"), section),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(document, (doc) => {
        try {
          const profile = readProfile("p", stringify(doc), "p.yaml", inputs);
          expect(profile.channels.length).toBeGreaterThan(0);
        } catch (error) {
          expect(error).toBeInstanceOf(ProfileError);
          expect((error as Error).message).not.toContain("\n");
        }
      }),
      { numRuns: 300 },
    );
  });

  it("accepts canned messages exactly when they fit the firmware: at most 200 bytes and 50 entries", () => {
    const entry = fc.stringMatching(/^[A-Z0-9 ]{1,12}$/);
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 60 }), (texts) => {
        const canned = texts.join("|");
        const fits = Buffer.byteLength(canned) <= 200 && texts.length <= 50;
        const read = (): unknown => readProfile("p", minimal(`canned_messages: ${JSON.stringify(canned)}\n`), "p.yaml", inputs);
        if (fits) expect(read()).toMatchObject({ cannedMessages: canned });
        else expect(read).toThrow(/canned_messages: \d+ (bytes|entries); a radio holds (200|50)/);
      }),
      { numRuns: 200 },
    );
  });

  it("compares with a radio and shows keys only as fingerprints", () => {
    const profile = readProfile("p", minimal(), "p.yaml", inputs);
    const other = Buffer.alloc(32, 9).toString("base64");
    const differences = compareWithProfile(profile, {
      owner: { longName: "Medic M7", shortName: "M8" },
      config: {},
      moduleConfig: {},
      channels: [{ index: 0, role: "PRIMARY", settings: { name: "meshaid", psk: other } }, { index: 1, role: "SECONDARY", settings: { name: "old", psk: "AQ==" } }],
      cannedMessages: undefined,
    });
    expect(differences.map((d) => d.setting)).toEqual(["owner_short", "channels[0].psk", "channels[1]"]);
    const text = JSON.stringify(differences);
    expect(text).not.toContain(other);
    expect(text).not.toContain(Buffer.from(key).toString("base64"));
    expect(text).toContain(keyFingerprint(key));
  });
});
