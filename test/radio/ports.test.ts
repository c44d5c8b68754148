import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  chooseRadioPort,
  findRadioPort,
  loadBoards,
  RadioError,
  scanRadioPorts,
  type Board,
  type PortInfo,
} from "../../src/radio/index.ts";
import { listSysfsPorts, readByIdLinks, withByIdLinks } from "../../src/radio/ports.ts";

const boards = loadBoards();

const heltecById = "usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0";
const heltec: PortInfo = { path: "/dev/ttyUSB0", vendorId: "10c4", productId: "ea60", manufacturer: "Silicon Labs", pnpId: heltecById };
const rak: PortInfo = { path: "/dev/ttyACM0", vendorId: "239A", productId: "8029", pnpId: "usb-RAKwireless_WisCore_RAK4631_Board_ABC-if00" };
const builtIn: PortInfo = { path: "/dev/ttyS0" };
const gps: PortInfo = { path: "/dev/ttyACM1", vendorId: "1546", productId: "01a7", manufacturer: "u-blox AG" };

describe("hardware/boards.json", () => {
  it("lists the supported boards with normalised USB ids", () => {
    const ids = new Set(boards.flatMap((board) => board.usb.map((id) => `${id.vendorId}:${id.productId}`)));
    for (const id of ["10c4:ea60", "1a86:7523", "1a86:55d4", "303a:1001", "239a:8029", "239a:4405"]) expect(ids).toContain(id);
    const names = boards.map((board) => board.name).join(" | ");
    for (const name of ["Heltec WiFi LoRa 32 V3", "T-Beam", "T-Echo", "T-Deck", "RAK4631"]) expect(names).toContain(name);
    for (const board of boards) {
      expect(board.mcu).not.toBe("");
      expect(board.notes).not.toBe("");
    }
  });
});

describe("chooseRadioPort", () => {
  it("chooses the one port with a known board id and explains every candidate", () => {
    const choice = chooseRadioPort([builtIn, gps, heltec], boards);
    expect(choice.chosen).toBe(heltec);
    expect(choice.verdicts.map((v) => [v.path, v.chosen])).toEqual([
      ["/dev/ttyS0", false],
      ["/dev/ttyACM1", false],
      ["/dev/ttyUSB0", true],
    ]);
    expect(choice.verdicts[0]!.reason).toMatch(/not a USB serial device/);
    expect(choice.verdicts[1]!.reason).toMatch(/1546:01a7 is not a known Meshtastic board.*--port \/dev\/ttyACM1/);
    expect(choice.verdicts[2]!.reason).toMatch(/10c4:ea60 matches .*Heltec WiFi LoRa 32 V3/);
    expect(choice.verdicts[2]!.boards).toEqual(expect.arrayContaining(["Silicon Labs CP210x USB-UART bridge", "Heltec WiFi LoRa 32 V3", "LilyGO T-Beam"]));
  });

  it("accepts ids in any case and with a 0x prefix", () => {
    expect(chooseRadioPort([{ path: "/dev/cu.usbmodem1", vendorId: "0x303A", productId: "0x1001" }], boards).chosen?.path).toBe("/dev/cu.usbmodem1");
  });

  it("prefers the /dev/serial/by-id path of the same device", () => {
    const byId: PortInfo = { ...heltec, path: `/dev/serial/by-id/${heltecById}` };
    for (const order of [[heltec, byId], [byId, heltec]]) {
      const choice = chooseRadioPort(order, boards);
      expect(choice.chosen?.path).toBe(byId.path);
      const tty = choice.verdicts.find((v) => v.path === "/dev/ttyUSB0")!;
      expect(tty.chosen).toBe(false);
      expect(tty.reason).toBe(`same device as ${byId.path}, which is preferred because its name survives re-plugging`);
    }
  });

  it("with two radios, chooses the first by path and tells how to pick the other", () => {
    const choice = chooseRadioPort([heltec, rak], boards);
    expect(choice.chosen).toBe(rak);
    const other = choice.verdicts.find((v) => v.path === heltec.path)!;
    expect(other.chosen).toBe(false);
    expect(other.reason).toMatch(/also looks like a radio .* but \/dev\/ttyACM0 comes first; pass --port \/dev\/ttyUSB0/);
    expect(choice.verdicts.filter((v) => v.chosen)).toHaveLength(1);
  });

  it("chooses nothing when nothing matches, or there are no ports", () => {
    expect(chooseRadioPort([builtIn, gps], boards)).toMatchObject({ chosen: undefined });
    expect(chooseRadioPort([], boards)).toEqual({ chosen: undefined, verdicts: [] });
  });

  it("reads the boards it is given, not a fixed list", () => {
    const custom: Board[] = [{ name: "Lab bridge", mcu: "none", usb: [{ vendorId: "1546", productId: "01a7" }], notes: "" }];
    expect(chooseRadioPort([heltec, gps], custom).chosen).toBe(gps);
  });
});

describe("findRadioPort", () => {
  it("returns the chosen port", async () => {
    const found = await findRadioPort({ boards, list: () => Promise.resolve([builtIn, rak]), byIdDir: "/nonexistent" });
    expect(found.path).toBe("/dev/ttyACM0");
    expect(found.boards).toEqual(["RAK WisBlock RAK4631"]);
  });

  it("rejects with RADIO_NO_PORT naming the ports it saw", async () => {
    const error = await findRadioPort({ boards, list: () => Promise.resolve([builtIn, gps]), byIdDir: "/nonexistent" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RadioError);
    expect(error).toMatchObject({ code: "RADIO_NO_PORT" });
    expect((error as Error).message).toContain("/dev/ttyS0, /dev/ttyACM1");
    expect((error as Error).message).toContain("meshaid ports");
    expect((error as Error).message).not.toContain("\n");
    await expect(findRadioPort({ boards, list: () => Promise.resolve([]), byIdDir: "/nonexistent" })).rejects.toMatchObject({
      code: "RADIO_NO_PORT",
      message: expect.stringMatching(/^No serial ports found\. Plug the radio in/) as unknown,
    });
  });
});

describe("port listing on Linux without udev", () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  it("reads USB ids from sysfs and adds /dev/serial/by-id twins", async () => {
    root = mkdtempSync(join(tmpdir(), "meshaid-ports-"));
    const usbDevice = join(root, "sys/devices/pci0000:00/usb1/1-1");
    mkdirSync(join(usbDevice, "1-1:1.0/tty/ttyACM0"), { recursive: true });
    writeFileSync(join(usbDevice, "idVendor"), "239a\n");
    writeFileSync(join(usbDevice, "idProduct"), "8029\n");
    writeFileSync(join(usbDevice, "manufacturer"), "RAKwireless\n");
    writeFileSync(join(usbDevice, "serial"), "ABC123\n");
    mkdirSync(join(root, "sys/class/tty/ttyACM0"), { recursive: true });
    symlinkSync(join(usbDevice, "1-1:1.0"), join(root, "sys/class/tty/ttyACM0/device"));
    mkdirSync(join(root, "sys/class/tty/ttyS0"), { recursive: true }); // not USB: not listed
    mkdirSync(join(root, "dev/serial/by-id"), { recursive: true });
    writeFileSync(join(root, "dev/ttyACM0"), "");
    symlinkSync(join(root, "dev/ttyACM0"), join(root, "dev/serial/by-id/usb-RAK_ABC123-if00"));

    const ports = listSysfsPorts(join(root, "sys/class/tty"), join(root, "dev"));
    expect(ports).toEqual([
      { path: join(root, "dev/ttyACM0"), vendorId: "239a", productId: "8029", manufacturer: "RAKwireless", serialNumber: "ABC123" },
    ]);
    const links = readByIdLinks(join(root, "dev/serial/by-id"));
    expect(withByIdLinks(ports, links).map((p) => [p.path, p.pnpId])).toEqual([
      [join(root, "dev/ttyACM0"), "usb-RAK_ABC123-if00"],
      [join(root, "dev/serial/by-id/usb-RAK_ABC123-if00"), "usb-RAK_ABC123-if00"],
    ]);
    const choice = await scanRadioPorts({ boards, list: () => Promise.resolve(ports), byIdDir: join(root, "dev/serial/by-id") });
    expect(choice.chosen?.path).toBe(join(root, "dev/serial/by-id/usb-RAK_ABC123-if00"));
  });
});
