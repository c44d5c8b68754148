// The base-station console: it folds the station's events into state (state.ts), turns keys into
// the next view (view.ts) and draws a frame of both (Screen.tsx). It only consumes a StationView,
// and hands what the coordinator asks for to callbacks the cli wires to the station.
import { useEffect, useMemo, useReducer, useRef, useState } from "react";
import { useInput, useStdin, useStdout, type Key } from "ink";
import type { StationView } from "../station/index.ts";
import type { BoardRows } from "./boards.ts";
import { isClosedRequest } from "./boards.ts";
import type { ComposeContext, ComposeOptions, ComposeTarget, Outgoing } from "./compose.ts";
import { recordDetail, senderLabel } from "./format.ts";
import type { Labeller } from "./format.ts";
import { emptyUtilization, sampleUtilization, type RelayStatus } from "./header.ts";
import { bodyRows, listLength, Screen, selectedRow, type TransmitState } from "./Screen.tsx";
import { consoleReducer, initialConsoleState, rowsOf } from "./state.ts";
import { hasBoards } from "./station-boards.ts";
import { handleKey, initialView, type BoardAction, type Effect, type ViewState } from "./view.ts";

export interface ConsoleProps {
  station: StationView;
  /** The header clock's time source (tests pass a fixed one). */
  clock?: () => Date;
  /** Codebook names in the coordinator's language (default: the names). Used when `labelsFor` is absent. */
  labels?: Labeller | undefined;
  /** The languages `l` cycles through (the first is where the console starts) and their labels. */
  languages?: readonly string[];
  labelsFor?: (language: string) => Labeller | undefined;
  /** Records not yet sent: `q` asks before quitting while there are any (default: what `transmit` has queued). */
  unsentCount?: number | (() => number);
  /** The transmit scheduler's state (read with the clock, every second) for the header. */
  transmit?: () => TransmitState;
  /** The relay's link to internet peers (read with the clock, every second) for the header. */
  relay?: () => RelayStatus | undefined;
  /** Presets, the codebook and the airtime model for compose (without them, compose is off). */
  compose?: ComposeOptions;
  /** Carries out a board action (the station's act()); a rejection is shown in the footer. */
  onAct?: (action: BoardAction) => unknown;
  /** Writes the printable report (Markdown) and resolves to where it went; shown in the footer. */
  onExport?: () => Promise<string>;
  /** Sends what was composed (the station's send path); a rejection is shown in the footer. */
  onSend?: (outgoing: Outgoing) => unknown;
  onQuit: () => void;
}

/** Terminal size assumed when the output is not a terminal. */
const DEFAULT_ROWS = 24;
const DEFAULT_COLUMNS = 80;

const systemClock = (): Date => new Date();

const RELAY_OFF: RelayStatus = { link: "off", peers: 0, pending: 0 };

/** How long the console waits to read the station's boards after they change (a burst is read once). */
const BOARDS_REFRESH_MS = 100;

/** The terminal's size, following resizes. */
function useTerminalSize(): { rows: number; columns: number } {
  const { stdout } = useStdout();
  const read = () => ({ rows: stdout.rows || DEFAULT_ROWS, columns: stdout.columns || DEFAULT_COLUMNS });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = (): void => setSize({ rows: stdout.rows || DEFAULT_ROWS, columns: stdout.columns || DEFAULT_COLUMNS });
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout]);
  return size;
}

function useClock(clock: () => Date): Date {
  const clockRef = useRef(clock);
  clockRef.current = clock;
  const [now, setNow] = useState(() => clock());
  useEffect(() => {
    const timer = setInterval(() => setNow(clockRef.current()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** The open requests and incidents, in board order, for a status or an acknowledgement. */
function composeTargets(rows: BoardRows, labels: Labeller | undefined): ComposeTarget[] {
  const targets: ComposeTarget[] = [];
  for (const row of rows.requests) if (!isClosedRequest(row.status)) targets.push({ id: row.record.id, kind: "supply_request", label: `${recordDetail(row.record.body, row.record.place, labels)} ${senderLabel(row.record)}` });
  for (const row of rows.incidents) if (row.status !== "closed") targets.push({ id: row.record.id, kind: "incident", label: `${recordDetail(row.record.body, row.record.place, labels)} ${senderLabel(row.record)}` });
  return targets;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function Console({ station, clock = systemClock, labels, languages, labelsFor, unsentCount, transmit, relay, compose, onAct, onSend, onExport, onQuit }: ConsoleProps) {
  const [state, dispatch] = useReducer(consoleReducer, station, (s) => initialConsoleState(s.snapshot()));
  const [view, setView] = useState<ViewState>(() => initialView(languages?.[0] ?? "en"));
  const { rows, columns } = useTerminalSize();
  const now = useClock(clock);
  const { isRawModeSupported } = useStdin();

  useEffect(() => {
    const unsubscribe = station.subscribe(dispatch);
    // Anything the station did between the first render and this subscription.
    dispatch({ type: "snapshot", snapshot: station.snapshot() });
    if (!hasBoards(station)) return unsubscribe;
    // The station's boards replace the derived ones. A burst of changes is read once.
    let pending: ReturnType<typeof setTimeout> | undefined;
    const refresh = (): void => {
      pending = undefined;
      dispatch({ type: "boards", boards: station.boards() });
    };
    const unsubscribeBoards = station.subscribeBoards((event) => {
      if (event.type === "boards") pending ??= setTimeout(refresh, BOARDS_REFRESH_MS);
      else setView((v) => ({ ...v, notice: event.outcome.ok ? `✓ ${event.outcome.action.verb}` : `✗ ${event.outcome.action.verb}: ${event.outcome.reason}` }));
    });
    refresh();
    return () => {
      unsubscribeBoards();
      if (pending !== undefined) clearTimeout(pending);
      unsubscribe();
    };
  }, [station]);

  // Read on every render; the clock renders every second.
  const tx = transmit?.();
  // A relay the cli wired but that has no state yet is off.
  const relayStatus = relay ? (relay() ?? RELAY_OFF) : undefined;
  // The channel's utilisation, sampled once a minute for the header's sparkline of the last hour.
  const [utilization, setUtilization] = useState(emptyUtilization);
  const channel = tx?.channelUtilization;
  useEffect(() => {
    if (channel !== undefined) setUtilization((history) => sampleUtilization(history, now.getTime(), channel));
  }, [now, channel]);
  const queued = tx ? Object.values(tx.queued).reduce((sum, n) => sum + n, 0) : 0;
  const unsent = typeof unsentCount === "function" ? unsentCount() : (unsentCount ?? queued);
  // One labeller per language, so what is derived from the labels is not derived again each second.
  const activeLabels = useMemo(() => (labelsFor ? labelsFor(view.language) : labels), [labelsFor, view.language, labels]);
  const boardRows = rowsOf(state);
  // The targets are worded only while composing (with a day of traffic there are thousands).
  const composing = view.overlay.type === "compose";
  const composeContext = useMemo<ComposeContext | undefined>(
    () =>
      compose
        ? { ...compose, destinations: boardRows.nodes.map((node) => ({ callsign: node.sender, num: node.origin })), targets: composing ? composeTargets(boardRows, activeLabels) : [] }
        : undefined,
    [compose, boardRows, composing, activeLabels],
  );

  // The key handler reads the latest of everything through one ref.
  const latest = useRef({ state, view, unsent, rows, composeContext, onAct, onSend, onExport, onQuit, languages, labels: activeLabels });
  latest.current = { state, view, unsent, rows, composeContext, onAct, onSend, onExport, onQuit, languages, labels: activeLabels };
  const quitting = useRef(false);

  const report = (run: (() => unknown) | undefined): void => {
    if (!run) {
      setView((v) => ({ ...v, notice: "noStation" }));
      return;
    }
    setView((v) => ({ ...v, notice: "working" }));
    try {
      void Promise.resolve(run()).then(
        // The station's own outcome (✓ or ✗, from its boards events) stays if it came first.
        () => setView((v) => (v.notice === "working" ? { ...v, notice: "sent" } : v)),
        (error: unknown) => setView((v) => ({ ...v, notice: `✗ ${errorText(error)}` })),
      );
    } catch (error) {
      setView((v) => ({ ...v, notice: `✗ ${errorText(error)}` }));
    }
  };

  const perform = (effect: Effect): void => {
    const current = latest.current;
    if (effect.type === "quit") {
      if (quitting.current) return;
      quitting.current = true;
      current.onQuit();
      return;
    }
    if (effect.type === "act") {
      const act = current.onAct;
      report(act ? () => act(effect.action) : undefined);
      return;
    }
    if (effect.type === "export") {
      const run = current.onExport;
      if (!run) {
        setView((v) => ({ ...v, notice: "noExport" }));
        return;
      }
      void run().then(
        (file) => setView((v) => ({ ...v, notice: `✓ ${file}` })),
        (error: unknown) => setView((v) => ({ ...v, notice: `✗ ${errorText(error)}` })),
      );
      return;
    }
    const send = current.onSend;
    report(send ? () => send(effect.outgoing) : undefined);
  };

  const onKey = (input: string, key: Key): void => {
    const current = latest.current;
    const result = handleKey(current.view, input, key, {
        rowCount: listLength(current.state, current.view, current.labels),
        page: bodyRows(current.rows),
        unsent: current.unsent,
        languages: current.languages ?? [],
        selected: selectedRow(current.state, current.view, current.labels),
        compose: current.composeContext,
      });
    // Keys can come faster than renders: the next key must see this one's view.
    latest.current = { ...current, view: result.view };
    setView(result.view);
    if (result.effect) perform(result.effect);
  };

  useInput(
    (input, key) => {
      // Keys typed faster than they are read arrive together ("2?l"): each is a key, except in
      // compose, where they are text (a paste).
      const typing = latest.current.view.overlay.type === "compose";
      if (!typing && !key.ctrl && !key.meta && [...input].length > 1) for (const char of input) onKey(char, key);
      else onKey(input, key);
    },
    { isActive: isRawModeSupported },
  );

  return <Screen state={state} view={view} rows={rows} columns={columns} now={now} labels={activeLabels} unsent={unsent} compose={composeContext} transmit={tx} relay={relayStatus} utilization={utilization.samples} />;
}
