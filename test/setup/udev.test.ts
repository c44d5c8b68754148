// hardware/boards.json carries what the field needs to know of each board, and `meshaid udev`
// turns it into a rule for every USB id.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { udevRules, runUdev } from "../../src/cli/udev.ts";
import { loadBoards } from "../../src/radio/index.ts";

const boardsFile = new URL("../../hardware/boards.json", import.meta.url);

describe("boards and the udev rule", () => {
  it("says for every board its name, MCU, USB ids, whether it has native USB or a bridge chip, and notes", () => {
    const data = JSON.parse(readFileSync(boardsFile, "utf8")) as { boards: Array<Record<string, unknown>> };
    for (const board of data.boards) {
      for (const field of ["name", "mcu", "notes"]) expect(typeof board[field], `${String(board["name"])}: ${field}`).toBe("string");
      expect(String(board["usbSerial"])).toMatch(/^(native USB|bridge chip: .+)$/);
      const usb = board["usb"] as Array<{ vendorId: string; productId: string }>;
      expect(usb.length).toBeGreaterThan(0);
      for (const id of usb) expect(`${id.vendorId}:${id.productId}`).toMatch(/^[0-9a-f]{4}:[0-9a-f]{4}$/);
    }
  });

  it("writes one rule per USB id with the group, no ModemManager and a stable name", () => {
    const boards = loadBoards(boardsFile);
    const rules = udevRules(boards, "dialout");
    const ruleLines = rules.split("\n").filter((line) => line.startsWith("SUBSYSTEM"));
    const ids = new Set(boards.flatMap((board) => board.usb.map((usb) => `${usb.vendorId}:${usb.productId}`)));
    expect(ruleLines).toHaveLength(ids.size);
    for (const id of ids) {
      const [vendor, product] = id.split(":");
      expect(rules).toContain(`ATTRS{idVendor}=="${vendor}", ATTRS{idProduct}=="${product}", GROUP="dialout", MODE="0660", ENV{ID_MM_DEVICE_IGNORE}="1", SYMLINK+="meshaid-radio"`);
    }
    expect(rules).toMatch(/# LilyGO T-Echo; Heltec Mesh Node T114\n/);
  });

  it("refuses a group name that is not one, and a boards file it cannot read", () => {
    const errors: string[] = [];
    expect(runUdev({ group: "dial out" }, () => undefined, (line) => errors.push(line))).toBe(1);
    expect(runUdev({ boards: "/nonexistent/boards.json" }, () => undefined, (line) => errors.push(line))).toBe(1);
    expect(errors).toEqual([expect.stringContaining('--group "dial out" is not a group name'), expect.stringContaining("cannot read the boards file /nonexistent/boards.json")]);
  });
});
