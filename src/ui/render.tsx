// Mounts the console on a terminal.
import { render } from "ink";
import type { StationView } from "../station/index.ts";
import { Console, type ConsoleProps } from "./Console.tsx";
import type { Labeller } from "./format.ts";

export interface RenderConsoleOptions {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** Called when the coordinator presses q or Ctrl-C, before the console unmounts. */
  onQuit?: () => void;
  /** The header clock's time source. */
  clock?: () => Date;
  /** Codebook names in the coordinator's language. */
  labels?: Labeller;
  /** Languages, compose, actions and the unsent count, as the Console takes them. */
  console?: Pick<ConsoleProps, "languages" | "labelsFor" | "unsentCount" | "transmit" | "relay" | "compose" | "onAct" | "onSend" | "onExport">;
}

export interface ConsoleHandle {
  /** Resolves once the console has unmounted (after q, Ctrl-C or unmount()). */
  waitUntilExit(): Promise<void>;
  /** Unmounts the console and restores the terminal. Safe to call more than once. */
  unmount(): void;
}

export function renderConsole(station: StationView, options: RenderConsoleOptions = {}): ConsoleHandle {
  let unmount = (): void => {};
  const quit = (): void => {
    try {
      options.onQuit?.();
    } finally {
      unmount();
    }
  };
  // One spread and no other attributes: tsx's JSX transform falls back to React.createElement
  // (and a global React) for a spread followed by attributes.
  const props: ConsoleProps = { ...options.console, station, clock: options.clock ?? (() => new Date()), labels: options.labels, onQuit: quit };
  const instance = render(<Console {...props} />, {
    ...(options.stdout === undefined ? {} : { stdout: options.stdout }),
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
    exitOnCtrlC: false,
    patchConsole: false,
  });
  unmount = () => instance.unmount();
  return {
    waitUntilExit: async () => {
      await instance.waitUntilExit();
    },
    unmount,
  };
}
