import { describe, expect, it } from "vitest";
import { serialOpenError } from "../../src/radio/serial.ts";
import { tcpConnectError } from "../../src/radio/tcp.ts";

// The messages serialport 13's native bindings give on Linux, macOS and Windows.
describe("serialOpenError", () => {
  it.each([
    ["Error: No such file or directory, cannot open /dev/ttyUSB0", "RADIO_PORT_NOT_FOUND", /^Serial port \/dev\/ttyUSB0 not found\. Plug the radio in, or run `meshaid ports`/],
    ["Opening COM7: File not found", "RADIO_PORT_NOT_FOUND", / not found\. /],
    ["Error Resource temporarily unavailable Cannot lock port", "RADIO_PORT_BUSY", /in use by another program/],
    ["Error: Resource busy, cannot open /dev/ttyUSB0", "RADIO_PORT_BUSY", /in use/],
    ["Error: Permission denied, cannot open /dev/ttyUSB0", "RADIO_PORT_DENIED", /dialout group/],
    ["Opening COM7: Access denied", "RADIO_PORT_DENIED", /Permission denied/],
    ["Error: Inappropriate ioctl for device setting custom baud rate of 115200", "RADIO_PORT_OPEN_FAILED", /Inappropriate ioctl/],
  ])("%s -> %s", (message, code, pattern) => {
    const error = serialOpenError("/dev/ttyUSB0", new Error(message));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(pattern);
    expect(error.message).toContain("/dev/ttyUSB0");
    expect(error.message).not.toContain("\n");
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe("tcpConnectError", () => {
  it.each([
    ["ECONNREFUSED", "RADIO_TCP_REFUSED"],
    ["ENOTFOUND", "RADIO_TCP_HOST_NOT_FOUND"],
    ["EHOSTUNREACH", "RADIO_TCP_UNREACHABLE"],
    ["ECONNRESET", "RADIO_TCP_FAILED"],
  ])("%s -> %s", (errno, code) => {
    const error = tcpConnectError("radio.local:4403", Object.assign(new Error(`connect ${errno}`), { code: errno }));
    expect(error.code).toBe(code);
    expect(error.message).toContain("radio.local:4403");
    expect(error.message).not.toContain("\n");
  });
});
