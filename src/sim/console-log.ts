// The firmware's raw serial log lines (fw27 src/RedirectablePrint.cpp log_to_serial), which keep
// flowing between frames on USB serial in releases up to 2.7.26 (reference 1.3).

export type ConsoleLevel = "DEBUG" | "INFO" | "WARN" | "ERROR" | "TRACE";

const COLOUR: Record<ConsoleLevel, string> = {
  DEBUG: "\x1b[34m",
  INFO: "\x1b[32m",
  WARN: "\x1b[33m",
  ERROR: "\x1b[31m",
  TRACE: "\x1b[35m",
};

/** `<colour>INFO  <reset>| HH:MM:SS <uptime_s> [Thread] message\r\n`, the clock in UTC. */
export function formatConsoleLine(
  level: ConsoleLevel,
  thread: string,
  message: string,
  nowMs: number,
  uptimeSeconds: number,
): string {
  const clock = new Date(nowMs).toISOString().slice(11, 19);
  return `${COLOUR[level]}${level.padEnd(5)} \x1b[0m| ${clock} ${uptimeSeconds} [${thread}] ${message}\r\n`;
}
