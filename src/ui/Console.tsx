// The base-station console: a header, the live feed (newest first) and a footer with key help.
import { useEffect, useReducer, useRef, useState } from "react";
import { Box, Text, useInput, useStdin, useStdout } from "ink";
import type { RecordView, StationView } from "../station/index.ts";
import { clip, detailParts, formatTime, kindLabel, radioColor, radioText, senderLabel, sanitize, type Labeller } from "./format.ts";
import { consoleReducer, initialConsoleState } from "./state.ts";

export interface ConsoleProps {
  station: StationView;
  /** The header clock's time source (tests pass a fixed one). */
  clock?: () => Date;
  /** Codebook names in the coordinator's language (default: the names). */
  labels?: Labeller | undefined;
  onQuit: () => void;
}

/** Lines the console uses besides the feed: header, its rule, the footer's rule, the footer. */
const CHROME_LINES = 4;
/** Terminal height assumed when the output is not a terminal. */
const DEFAULT_ROWS = 24;

const systemClock = (): Date => new Date();

/** The terminal's height, following resizes. */
function useTerminalRows(): number {
  const { stdout } = useStdout();
  const [rows, setRows] = useState(() => stdout.rows || DEFAULT_ROWS);
  useEffect(() => {
    const onResize = (): void => setRows(stdout.rows || DEFAULT_ROWS);
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout]);
  return rows;
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

function RecordLine({ record, labels }: { record: RecordView; labels: Labeller | undefined }) {
  const kind = kindLabel(record.body);
  const detail = detailParts(record.body, record.place, labels);
  const urgent = record.body.kind === "supply_request" && record.body.priority === "urgent";
  return (
    <Box flexDirection="row">
      <Box width={10} flexShrink={0}>
        <Text>{formatTime(record.receivedAt)}</Text>
      </Box>
      <Box width={12} flexShrink={0}>
        <Text color={kind.color} bold={kind.bold}>
          {kind.text}
        </Text>
      </Box>
      <Box flexGrow={1} flexShrink={1} flexDirection="row">
        <Text bold={urgent} color={urgent ? "red" : undefined}>
          {detail.lead}
        </Text>
        <Box flexShrink={1}>
          <Text wrap="truncate" bold={urgent}>
            {detail.main}
          </Text>
        </Box>
        <Box flexShrink={0}>
          <Text bold={urgent}>{detail.tail}</Text>
        </Box>
      </Box>
      <Box flexShrink={0} marginLeft={2}>
        <Text bold>{senderLabel(record)}</Text>
      </Box>
    </Box>
  );
}

export function Console({ station, clock = systemClock, labels, onQuit }: ConsoleProps) {
  const [state, dispatch] = useReducer(consoleReducer, station, (s) => initialConsoleState(s.snapshot()));
  const rows = useTerminalRows();
  const now = useClock(clock);
  const { isRawModeSupported } = useStdin();

  useEffect(() => {
    const unsubscribe = station.subscribe(dispatch);
    // Anything the station did between the first render and this subscription.
    dispatch({ type: "snapshot", snapshot: station.snapshot() });
    return unsubscribe;
  }, [station]);

  const quitRef = useRef(onQuit);
  quitRef.current = onQuit;
  const quitting = useRef(false);
  useInput(
    (input, key) => {
      const quit = input === "q" || input === "Q" || (key.ctrl && input === "c");
      if (!quit || quitting.current) return;
      quitting.current = true;
      quitRef.current();
    },
    { isActive: isRawModeSupported },
  );

  // One line short of the terminal, so Ink redraws in place instead of clearing the screen.
  const feedRows = Math.max(1, rows - 1 - CHROME_LINES);
  const visible = state.records.slice(0, feedRows);
  const count = `${state.recordCount} ${state.recordCount === 1 ? "record" : "records"}`;

  return (
    <Box flexDirection="column">
      <Box flexDirection="row" borderStyle="single" borderTop={false} borderLeft={false} borderRight={false}>
        <Box flexGrow={1} flexShrink={1}>
          <Text wrap="truncate">
            <Text bold>{clip(sanitize(state.name), 24)}</Text>
            {"  "}
            <Text color={radioColor(state.radio)} bold={state.radio.status !== "connected"}>
              {radioText(state.radio)}
            </Text>
            {"  "}
            {count}
          </Text>
        </Box>
        <Box flexShrink={0} marginLeft={2}>
          <Text bold>{formatTime(now)}</Text>
        </Box>
      </Box>
      <Box flexDirection="column" height={feedRows}>
        {visible.length === 0 ? (
          <Text dimColor>no records yet: waiting for the radio</Text>
        ) : (
          visible.map((record) => <RecordLine key={`${record.id.origin}:${record.id.seq}`} record={record} labels={labels} />)
        )}
      </Box>
      <Box flexDirection="row" borderStyle="single" borderBottom={false} borderLeft={false} borderRight={false}>
        <Box flexShrink={0}>
          <Text>q quit</Text>
        </Box>
        {state.skipped === undefined ? null : (
          <Box flexGrow={1} flexShrink={1} marginLeft={4}>
            <Text dimColor wrap="truncate">
              skipped {state.skipped.count}, last: {sanitize(state.skipped.lastReason)}
            </Text>
          </Box>
        )}
      </Box>
    </Box>
  );
}
