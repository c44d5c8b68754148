// The console's frame as a pure function of its state: header, screen tabs, the current screen
// (windowed: only the rows that fit are rendered), an overlay when one is open, and the footer.
import { Box, Text } from "ink";
import type { RecordView } from "../station/index.ts";
import { ACK_CODES, appliesToBoards, CHECKIN_STATUSES, PRIORITIES, SEVERITIES, SHIFT_ACTIONS, SUPPLY_STATUSES } from "../wire/index.ts";
import { isClosedRequest, type IncidentRow, type NodeRow, type RequestMatchRow, type RequestRow, type ShiftRow } from "./boards.ts";
import { COMPOSE_MODES, composePreview, FIELDS, incidentNames, itemNames, roleNames, targetsFor, TEXT_LIMIT_BYTES, type ComposeContext, type ComposeForm } from "./compose.ts";
import { clip, deliveryColor, deliveryLong, deliveryShort, detailParts, matchText, formatTime, kindLabel, radioColor, radioText, recordDetail, sanitize, senderLabel, type Labeller } from "./format.ts";
import { cells, fit, pad } from "./cells.ts";
import { queueText, relaySymbol, relayText, sparkline, type RelayStatus } from "./header.ts";
import { words, type Words } from "./i18n.ts";
import { rowsOf, type ConsoleState } from "./state.ts";
import { TABS, type SelectedRow, type Tab, type ViewState } from "./view.ts";

/** Lines besides the screen's body: the header's two lines and its rule, the tab line, the footer's rule and the footer. */
export const CHROME_LINES = 6;
/** Cells of the channel's sparkline: an hour, five minutes a cell. */
const SPARK_CELLS = 12;

export interface ScreenProps {
  state: ConsoleState;
  view: ViewState;
  /** Terminal size; the frame uses one line less than the height, so Ink redraws in place. */
  rows: number;
  columns: number;
  now: Date;
  labels: Labeller | undefined;
  unsent: number;
  compose: ComposeContext | undefined;
  /** What is waiting to go on the air and the airtime used, when the station has a scheduler. */
  transmit?: TransmitState | undefined;
  /** The relay to internet peers (absent: the station was started without one, nothing is shown). */
  relay?: RelayStatus | undefined;
  /** The channel's utilisation, one sample a minute, oldest first (the last hour). */
  utilization?: readonly number[] | undefined;
}

/** The transmit scheduler's state as the header shows it. */
export interface TransmitState {
  queued: Readonly<Record<string, number>>;
  airtimeUsedMs: number;
  airtimeBudgetMs: number;
  /** Channel utilisation in percent. */
  channelUtilization: number;
}

/**
 * "ch 4% ▁▂▃█▂  air 12/36 s  tx 3: life 1 req 2": the channel's load now and over the last hour,
 * the airtime budget used, the transmit queue by priority.
 */
export function transmitText(tx: TransmitState, w: Words = words("en"), utilization: readonly number[] = []): string {
  const spark = utilization.length > 0 ? ` ${sparkline(utilization, SPARK_CELLS)}` : "";
  const air = `${w.airtime} ${Math.round(tx.airtimeUsedMs / 1000)}/${Math.round(tx.airtimeBudgetMs / 1000)} s`;
  return `${w.channelShort} ${Math.round(tx.channelUtilization)}%${spark}  ${air}  ${queueText(tx.queued, w)}`;
}

function queuedTotal(tx: TransmitState): number {
  return Object.values(tx.queued).reduce((sum, n) => sum + n, 0);
}

/** How many rows the current screen's body has. */
export function bodyRows(rows: number): number {
  return Math.max(1, rows - 1 - CHROME_LINES);
}

/** The first row to render so that the selected one is visible. */
export function windowStart(selected: number, height: number, count: number): number {
  if (count <= height) return 0;
  return Math.max(0, Math.min(selected - height + 1 > 0 ? selected - height + 1 : 0, count - height));
}

type ListItem = RecordView | RequestRow | IncidentRow | ShiftRow | NodeRow;

function baseList(state: ConsoleState, tab: Tab): readonly ListItem[] {
  return tab === "feed" ? state.records : rowsOf(state)[tab];
}

function itemRecord(tab: Tab, item: ListItem): RecordView {
  return tab === "feed" ? (item as RecordView) : (item as { record: RecordView }).record;
}

function itemSender(tab: Tab, item: ListItem): string {
  return tab === "shifts" ? (item as ShiftRow).callsign : tab === "nodes" ? (item as NodeRow).sender : itemRecord(tab, item).sender;
}

function itemStatus(tab: Tab, item: ListItem): string {
  if (tab === "feed") return (item as RecordView).body.kind;
  if (tab === "shifts") return (item as ShiftRow).state;
  if (tab === "nodes") return (item as NodeRow).checkin ?? "";
  return (item as RequestRow | IncidentRow).status;
}

const listCache = new WeakMap<readonly ListItem[], { key: string; list: readonly ListItem[] }>();

/** The current screen's rows after the filter and the sort (the board's own list when neither is set). */
export function visibleList(state: ConsoleState, view: ViewState, labels: Labeller | undefined): readonly ListItem[] {
  const tab = view.tab;
  const base = baseList(state, tab);
  if (view.filter === "" && view.sort === "board") return base;
  const key = `${view.filter}\u0000${view.sort}\u0000${view.language}`;
  const cached = listCache.get(base);
  if (cached?.key === key) return cached.list;
  const needle = view.filter.toLowerCase();
  const w = words(view.language);
  const list =
    needle === ""
      ? [...base]
      : base.filter((item) => {
          const record = itemRecord(tab, item);
          const status = itemStatus(tab, item);
          const text = `${recordDetail(record.body, record.place, labels)} ${itemSender(tab, item)} ${record.text ?? ""} ${status.replaceAll("_", " ")} ${statusWord(w, status)}`;
          return text.toLowerCase().includes(needle);
        });
  if (view.sort === "newest") list.sort((a, b) => itemRecord(tab, b).receivedAt - itemRecord(tab, a).receivedAt);
  else if (view.sort === "sender") list.sort((a, b) => itemSender(tab, a).localeCompare(itemSender(tab, b)) || itemRecord(tab, b).receivedAt - itemRecord(tab, a).receivedAt);
  listCache.set(base, { key, list });
  return list;
}

export function listLength(state: ConsoleState, view: ViewState, labels: Labeller | undefined): number {
  return visibleList(state, view, labels).length;
}

/** The record a row is about, and its history, for the detail view and for actions. */
export function rowAt(state: ConsoleState, view: ViewState, labels: Labeller | undefined): { record: RecordView; history: readonly RecordView[]; state: string; match?: RequestMatchRow } | undefined {
  const list = visibleList(state, view, labels);
  const item = list[Math.min(view.selection[view.tab], list.length - 1)];
  if (item === undefined) return undefined;
  const tab = view.tab;
  const record = itemRecord(tab, item);
  if (tab === "feed") return { record, history: [record], state: record.body.kind };
  if (tab === "nodes") {
    const sender = (item as NodeRow).sender;
    return { record, history: state.records.filter((r) => r.sender === sender).slice(0, 50).reverse(), state: itemStatus(tab, item) };
  }
  const match = tab === "requests" ? (item as RequestRow).match : undefined;
  return { record, history: (item as RequestRow | IncidentRow | ShiftRow).history, state: itemStatus(tab, item), ...(match ? { match } : {}) };
}

export function selectedRow(state: ConsoleState, view: ViewState, labels: Labeller | undefined): SelectedRow | undefined {
  const row = rowAt(state, view, labels);
  if (!row) return undefined;
  const list = visibleList(state, view, labels);
  const item = list[Math.min(view.selection[view.tab], list.length - 1)]!;
  return { tab: view.tab, ref: row.record.id, state: row.state, callsign: itemSender(view.tab, item) };
}

/** The longest a suggested offer takes on a request line (the detail shows all of it). */
const MATCH_CHARS = 36;

/** The longest a delivery state takes on a feed line (the detail shows all of it). */
const FEED_DELIVERY_CHARS = 24;

/**
 * One feed line, laid out here as one Text: the time, the kind (a symbol and a word), the detail
 * (only its free words are shortened, so urgency and counts stay), the delivery state, the sender.
 */
function FeedLine({ record, labels, selected, w, columns }: { record: RecordView; labels: Labeller | undefined; selected: boolean; w: Words; columns: number }) {
  const kind = kindLabel(record.body);
  const detail = detailParts(record.body, record.place, labels);
  const urgent = record.body.kind === "supply_request" && record.body.priority === "urgent";
  const delivery = record.delivery === undefined ? undefined : clip(deliveryShort(record.delivery, w), FEED_DELIVERY_CHARS);
  const sender = senderLabel(record);
  const auth = authMark(record, w);
  const room = columns - 1 - 9 - 12 - (delivery === undefined ? 0 : 1 + cells(delivery)) - (auth === undefined ? 0 : 1 + cells(auth.text)) - 2 - cells(sender);
  const lead = fit(detail.lead, room);
  const tail = fit(detail.tail, room - cells(lead));
  const main = fit(detail.main, room - cells(lead) - cells(tail));
  const gap = " ".repeat(Math.max(0, room - cells(lead) - cells(main) - cells(tail)));
  return (
    <Text wrap="truncate">
      <Text bold>{selected ? "›" : " "}</Text>
      <Text inverse={selected}>{formatTime(record.receivedAt)}</Text>
      {" "}
      <Text color={kind.color} bold={kind.bold}>
        {pad(kind.text, 12)}
      </Text>
      <Text bold={urgent} color={urgent ? "red" : undefined}>
        {lead}
      </Text>
      <Text bold={urgent}>
        {main}
        {tail}
      </Text>
      {gap}
      {delivery === undefined ? null : (
        <Text color={deliveryColor(record.delivery!)} bold={record.delivery!.state === "failed"}>
          {" "}
          {delivery}
        </Text>
      )}
      {auth === undefined ? null : (
        <Text color={auth.color} bold={auth.bold} dimColor={!auth.bold}>
          {" "}
          {auth.text}
        </Text>
      )}
      {"  "}
      <Text bold>{sender}</Text>
    </Text>
  );
}

/** The mark of a record whose sender is not authenticated: a word, never colour alone. */
function authMark(record: RecordView, w: Words): { text: string; color: string | undefined; bold: boolean } | undefined {
  if (record.auth === "none") return { text: w.unauthMark, color: "red", bold: true };
  if (record.auth === "handheld") return { text: w.handheldMark, color: undefined, bold: false };
  return undefined;
}

/** How the record's sender was known, in words, for the detail view (nothing when not checked). */
function authLine(record: RecordView, w: Words): string | undefined {
  switch (record.auth) {
    case "none":
      return appliesToBoards(record) ? w.authNone : `${w.authNone} · ${w.authNotApplied}`;
    case "handheld":
      return w.authHandheld;
    case "mac":
      return w.authMac;
    case "station":
      return w.authStation;
    case undefined:
      return undefined;
  }
}

/** One board row, as one Text: a marker, a status word (never colour alone), the time, the detail, the sender. */
function BoardLine({ selected, status, statusColor, record, detail, extra, columns }: { selected: boolean; status: string; statusColor: string | undefined; record: RecordView; detail: string; extra: string; columns: number }) {
  const sender = senderLabel(record);
  const extraText = extra === "" ? "" : ` ${extra}`;
  const room = columns - 1 - 19 - 9 - cells(extraText) - 2 - cells(sender);
  return (
    <Text wrap="truncate">
      <Text bold>{selected ? "›" : " "}</Text>
      <Text color={statusColor} bold={statusColor === "red"} inverse={selected}>
        {fit(status, 19)}
      </Text>
      {" ".repeat(Math.max(0, 19 - cells(fit(status, 19))))}
      {pad(formatTime(record.receivedAt), 9)}
      {pad(detail, Math.max(0, room))}
      {extraText}
      {"  "}
      <Text bold>{sender}</Text>
    </Text>
  );
}

function statusWord(w: Words, status: string): string {
  return (w as unknown as Record<string, unknown>)[status] === undefined ? status.replaceAll("_", " ") : String((w as unknown as Record<string, string>)[status]);
}

function requestLine(row: RequestRow, selected: boolean, labels: Labeller | undefined, w: Words, columns: number) {
  const closed = isClosedRequest(row.status);
  const mark = row.priority === "urgent" ? "!! " : row.priority === "high" ? "!  " : "   ";
  const color = closed ? "gray" : row.priority === "urgent" ? "red" : row.status === "open" ? "yellow" : "green";
  const eta = row.etaMin !== undefined && row.status === "en_route" ? `${w.eta} ${row.etaMin} ${w.min}` : "";
  // The board's suggested offer, beside the request it could fill (only while open or acknowledged).
  const offer = row.match && (row.status === "open" || row.status === "acknowledged") ? `⇄ ${w.offer} ${clip(matchText(row.match, labels), MATCH_CHARS)}` : "";
  return <BoardLine key={row.key} selected={selected} status={`${mark}${statusWord(w, row.status)}`} statusColor={color} record={row.record} detail={recordDetail(row.record.body, row.record.place, labels)} extra={eta || offer} columns={columns} />;
}

function incidentLine(row: IncidentRow, selected: boolean, labels: Labeller | undefined, w: Words, columns: number) {
  const body = row.record.body;
  const grave = body.kind === "incident" && (body.casualties > 0 || body.severity === "extreme");
  const color = row.status === "closed" ? "gray" : grave ? "red" : "magenta";
  return <BoardLine key={row.key} selected={selected} status={`${grave && row.status !== "closed" ? "!! " : "   "}${statusWord(w, row.status)}`} statusColor={color} record={row.record} detail={recordDetail(body, row.record.place, labels)} extra="" columns={columns} />;
}

function shiftLine(row: ShiftRow, selected: boolean, labels: Labeller | undefined, w: Words, columns: number) {
  const color = row.state === "overdue" ? "red" : row.state === "handoff" ? "yellow" : row.state === "on" ? "green" : "gray";
  const role = row.role ? ` (${sanitize(labels ? labels("roles", row.role) : row.role.replaceAll("_", " "))})` : "";
  return (
    <BoardLine
      key={row.key}
      selected={selected}
      status={`${row.state === "overdue" ? "!! " : row.state === "handoff" ? "?  " : "   "}${statusWord(w, row.state)}`}
      statusColor={color}
      record={row.record}
      detail={`${clip(sanitize(row.callsign), 12)}${role}: ${recordDetail(row.record.body, row.record.place, labels)}`}
      extra=""
      columns={columns}
    />
  );
}

function nodeLine(row: NodeRow, selected: boolean, w: Words, columns: number) {
  const alarm = row.checkin === "emergency" || row.checkin === "need_assist";
  const parts = [`${row.records} ${row.records === 1 ? w.record : w.records}`];
  if (row.battery !== undefined) parts.push(`battery ${row.battery}%`);
  if (row.place) parts.push(`@ ${sanitize(row.place)}`);
  return (
    <BoardLine
      key={row.key}
      selected={selected}
      status={`${alarm ? "!! " : "   "}${row.checkin ? row.checkin.replaceAll("_", " ") : "-"}`}
      statusColor={alarm ? "red" : undefined}
      record={{ ...row.record, receivedAt: row.lastHeard }}
      detail={parts.join(", ")}
      extra=""
      columns={columns}
    />
  );
}

function ListBody({ state, view, height, labels, w, columns }: { state: ConsoleState; view: ViewState; height: number; labels: Labeller | undefined; w: Words; columns: number }) {
  const tab = view.tab;
  const list = visibleList(state, view, labels);
  const count = list.length;
  if (count === 0) return <Text dimColor>{view.filter !== "" ? `${w.empty} (/${sanitize(view.filter)})` : tab === "feed" ? w.noRecords : w.empty}</Text>;
  const selected = Math.min(view.selection[tab], count - 1);
  const start = windowStart(selected, height, count);
  const end = Math.min(count, start + height);
  const lines = [];
  for (let i = start; i < end; i += 1) {
    const item = list[i]!;
    const on = i === selected;
    if (tab === "feed") {
      const record = item as RecordView;
      lines.push(<FeedLine key={`${record.id.origin}:${record.id.seq}`} record={record} labels={labels} selected={on} w={w} columns={columns} />);
    } else if (tab === "requests") lines.push(requestLine(item as RequestRow, on, labels, w, columns));
    else if (tab === "incidents") lines.push(incidentLine(item as IncidentRow, on, labels, w, columns));
    else if (tab === "shifts") lines.push(shiftLine(item as ShiftRow, on, labels, w, columns));
    else lines.push(nodeLine(item as NodeRow, on, w, columns));
  }
  return <>{lines}</>;
}

function Detail({ state, view, height, labels, w }: { state: ConsoleState; view: ViewState; height: number; labels: Labeller | undefined; w: Words }) {
  const row = rowAt(state, view, labels);
  if (!row) return <Text dimColor>{w.empty}</Text>;
  const record = row.record;
  const id = `!${(record.id.origin >>> 0).toString(16).padStart(8, "0")}:${record.id.seq}`;
  const history = row.history.slice(-Math.max(0, height - 4));
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        {kindLabel(record.body).text} {recordDetail(record.body, record.place, labels)}
      </Text>
      <Text wrap="truncate">
        {senderLabel(record)} {formatTime(record.receivedAt)} {id} {record.text === undefined ? "" : `"${sanitize(record.text)}"`}
      </Text>
      {authLine(record, w) === undefined ? null : (
        <Text wrap="truncate" color={record.auth === "none" ? "red" : undefined} bold={record.auth === "none"}>
          {authLine(record, w)}
        </Text>
      )}
      {record.delivery === undefined ? null : (
        <Text wrap="truncate" color={deliveryColor(record.delivery)}>
          {w.deliveryState}: {deliveryLong(record.delivery, w)} · {record.delivery.attempts} {w.attempts} · {formatTime(record.delivery.at)}
        </Text>
      )}
      {row.match === undefined ? null : (
        <Text wrap="truncate" color="cyan">
          ⇄ {w.offerFrom}: {matchText(row.match, labels, w)} {formatTime(row.match.at)}
        </Text>
      )}
      <Text bold>
        {w.history} ({row.history.length}) · {w.close}
      </Text>
      {history.map((entry) => (
        <Text key={`${entry.id.origin}:${entry.id.seq}`} wrap="truncate">
          {"  "}
          {formatTime(entry.receivedAt)} {kindLabel(entry.body).text} {recordDetail(entry.body, entry.place, labels)} {senderLabel(entry)}
        </Text>
      ))}
    </Box>
  );
}

function Help({ w }: { w: Words }) {
  return (
    <Box flexDirection="column">
      <Text bold>
        {w.helpTitle} · {w.close}
      </Text>
      {w.helpLines.map((line) => (
        <Text key={line} wrap="truncate">
          {line}
        </Text>
      ))}
    </Box>
  );
}

/** A compose field's value as shown: ‹ › around a choice (←→), a cursor after what is typed. */
function fieldValue(field: string, form: ComposeForm, ctx: ComposeContext, labels: Labeller | undefined, w: Words): string {
  const label = (category: "items" | "incidents" | "roles", name: string | undefined): string => (name === undefined ? "?" : sanitize(labels ? labels(category, name) : name.replaceAll("_", " ")));
  const choice = (text: string): string => `‹ ${text} ›`;
  switch (field) {
    case "item":
      return choice(label("items", itemNames(ctx.codebook)[form.item]));
    case "priority":
      return choice(statusWord(w, PRIORITIES[form.priority] ?? "normal"));
    case "incident":
      return choice(label("incidents", incidentNames(ctx.codebook)[form.incident]));
    case "severity":
      return choice(statusWord(w, SEVERITIES[form.severity] ?? "moderate"));
    case "to":
      return choice(form.to === 0 ? w.channel : sanitize(ctx.destinations[form.to - 1]?.callsign ?? "?"));
    case "target": {
      const target = targetsFor(form, ctx)[form.target];
      return target === undefined ? `(${w.noTargets})` : choice(sanitize(target.label));
    }
    case "status":
      return choice(statusWord(w, SUPPLY_STATUSES[form.status] ?? "acknowledged"));
    case "shiftAction":
      return choice(statusWord(w, `shift_${SHIFT_ACTIONS[form.shiftAction] ?? "on"}`));
    case "role":
      return choice(form.role === 0 ? w.noRole : label("roles", roleNames(ctx.codebook)[form.role - 1]));
    case "checkin":
      return choice(statusWord(w, CHECKIN_STATUSES[form.checkin] ?? "ok"));
    case "ackCode":
      return choice(statusWord(w, `ack_${ACK_CODES[form.ackCode] ?? "received"}`));
    case "text":
      return `"${sanitize(form.text)}_"`;
    default:
      return `${sanitize(String(form[field as keyof ComposeForm]))}_`;
  }
}

function Compose({ form, ctx, labels, w }: { form: ComposeForm; ctx: ComposeContext; labels: Labeller | undefined; w: Words }) {
  const preview = composePreview(form, ctx);
  const fields = FIELDS[form.mode];
  const lines: { key: string; text: string; bold?: boolean }[] = [];
  if (form.mode === "preset") {
    const start = windowStart(form.preset, 5, ctx.presets.length);
    ctx.presets.slice(start, start + 5).forEach((preset, i) => {
      const index = start + i;
      lines.push({ key: `p${index}`, text: `${index === form.preset ? "›" : " "} ${sanitize(preset.text)}  (${recordDetail(preset.body, undefined, labels)})`, bold: index === form.preset });
    });
  } else {
    fields.forEach((field, index) => {
      const name = w.fields[field] ?? field;
      lines.push({ key: field, text: `${index === form.field ? "›" : " "} ${name}: ${fieldValue(field, form, ctx, labels, w)}` });
    });
    if (form.mode === "text") {
      const bytes = preview.payloadBytes;
      lines.push({ key: "count", text: `  ${bytes}/${TEXT_LIMIT_BYTES} ${w.bytes} (${[...form.text].length} chars)`, bold: bytes > TEXT_LIMIT_BYTES });
    }
  }
  const airtime = preview.airtimeMs === undefined ? "" : ` · ${w.timeOnAir} ${Math.round(preview.airtimeMs)} ms`;
  const mode = COMPOSE_MODES.indexOf(form.mode);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        {w.composeTitle}: ‹ {w.modes[form.mode]} › {mode + 1}/{COMPOSE_MODES.length}
      </Text>
      <Text dimColor wrap="truncate">
        {w.composeKeys}
      </Text>
      {lines.map((line) => (
        <Text key={line.key} bold={line.bold ?? false} wrap="truncate">
          {line.text}
        </Text>
      ))}
      <Text wrap="truncate">
        {w.payload} {preview.payloadBytes} {w.bytes}, {w.onAir} {preview.onAirBytes} {w.bytes}
        {airtime}
      </Text>
      <Text wrap="truncate">{preview.hex === "" ? "-" : preview.hex}</Text>
      {preview.error === undefined ? (
        form.mode === "text" ? null : (
          <Text dimColor wrap="truncate">
            {w.seqNote}
          </Text>
        )
      ) : (
        <Text bold color="red" wrap="truncate">
          ✗ {preview.error}
        </Text>
      )}
    </Box>
  );
}

function Tabs({ state, view, w, columns }: { state: ConsoleState; view: ViewState; w: Words; columns: number }) {
  const rows = rowsOf(state);
  const open = { requests: rows.openRequests, incidents: rows.openIncidents };
  const full = (tab: Tab, index: number, short: boolean): string => {
    const count = tab === "requests" || tab === "incidents" ? ` ${open[tab]}` : "";
    return `${index + 1} ${short ? w[tab].slice(0, 4) : w[tab]}${count}`;
  };
  // Narrow terminals get the screens' names cut to four letters (the numbers stay).
  const width = TABS.reduce((sum, tab, index) => sum + full(tab, index, false).length + 3, 0);
  const label = (tab: Tab, index: number): string => full(tab, index, width > columns - 12);
  return (
    <Box flexDirection="row">
      {TABS.map((tab, index) => (
        <Box key={tab} marginRight={1} flexShrink={1}>
          <Text bold={tab === view.tab} inverse={tab === view.tab} wrap="truncate">
            {tab === view.tab ? `[${label(tab, index)}]` : ` ${label(tab, index)} `}
          </Text>
        </Box>
      ))}
      {view.filter === "" ? null : (
        <Box flexShrink={1} marginRight={1}>
          <Text bold wrap="truncate">
            /{sanitize(view.filter)}
          </Text>
        </Box>
      )}
      {view.sort === "board" ? null : (
        <Box flexShrink={0}>
          <Text bold>↕{w[view.sort === "newest" ? "sortNewest" : "sortSender"]}</Text>
        </Box>
      )}
    </Box>
  );
}

function noticeText(w: Words, notice: string): string {
  const known = (w as unknown as Record<string, unknown>)[notice];
  return typeof known === "string" ? known : sanitize(notice);
}

export function Screen({ state, view, rows, columns, now, labels, unsent, compose, transmit, relay, utilization }: ScreenProps) {
  const w = words(view.language);
  const height = bodyRows(rows);
  const count = `${state.recordCount} ${state.recordCount === 1 ? w.record : w.records}`;
  const overlay = view.overlay;
  let body;
  if (overlay.type === "help") body = <Help w={w} />;
  else if (overlay.type === "detail") body = <Detail state={state} view={view} height={height} labels={labels} w={w} />;
  else if (overlay.type === "compose" && compose) body = <Compose form={overlay.form} ctx={compose} labels={labels} w={w} />;
  else body = <ListBody state={state} view={view} height={height} labels={labels} w={w} columns={columns} />;

  let footer;
  if (overlay.type === "quit") footer = <Text bold color="yellow" wrap="truncate">? {w.quitConfirm(unsent)}</Text>;
  else if (overlay.type === "filter") footer = <Text bold wrap="truncate">{w.filterPrompt}{sanitize(overlay.draft)}_</Text>;
  else if (overlay.type === "eta") footer = <Text bold wrap="truncate">{w.etaPrompt}{overlay.draft}_</Text>;
  else {
    footer = (
      <>
        <Box flexShrink={0}>
          <Text>
            {w.help}  {w.compose}  {w.quit}
          </Text>
        </Box>
        {view.notice !== undefined || w.boardKeys[view.tab] === undefined ? null : (
          <Box flexShrink={1} marginLeft={3}>
            <Text dimColor wrap="truncate">
              {w.boardKeys[view.tab]}
            </Text>
          </Box>
        )}
        {view.notice === undefined ? null : (
          <Box flexGrow={1} flexShrink={1} marginLeft={3}>
            <Text bold wrap="truncate">
              {noticeText(w, view.notice)}
            </Text>
          </Box>
        )}
        {state.suspects[0] === undefined ? null : (
          <Box flexGrow={1} flexShrink={1} marginLeft={3}>
            <Text color="red" bold wrap="truncate">
              {w.suspect} {state.suspects.length}: !{(state.suspects[0].num >>> 0).toString(16).padStart(8, "0")} {sanitize(state.suspects[0].detail)}
            </Text>
          </Box>
        )}
        {state.skipped === undefined ? null : (
          <Box flexGrow={1} flexShrink={1} marginLeft={3}>
            <Text dimColor wrap="truncate">
              skipped {state.skipped.count}, last: {sanitize(state.skipped.lastReason)}
            </Text>
          </Box>
        )}
      </>
    );
  }

  return (
    <Box flexDirection="column">
      <Box flexDirection="row">
        <Box flexGrow={1} flexShrink={1}>
          <Text wrap="truncate">
            <Text bold>{clip(sanitize(state.name), 20)}</Text>
            {"  "}
            <Text color={radioColor(state.radio)} bold={state.radio.status !== "connected"}>
              {radioText(state.radio, w)}
            </Text>
            {relay === undefined ? null : (
              <Text color={relay.link === "down" ? "red" : relay.link === "connecting" ? "yellow" : undefined} bold={relay.link === "down"}>
                {"  "}
                {relaySymbol(relay)} {relayText(relay, now.getTime(), w)}
              </Text>
            )}
          </Text>
        </Box>
        <Box flexShrink={0} marginLeft={2}>
          <Text>{view.language.toUpperCase()} </Text>
          <Text bold>{formatTime(now)}</Text>
        </Box>
      </Box>
      <Box flexDirection="row" borderStyle="single" borderTop={false} borderLeft={false} borderRight={false}>
        <Text wrap="truncate">
          {count}
          {unsent > 0 && (!transmit || unsent !== queuedTotal(transmit)) ? `  ${unsent} ${w.unsent}` : ""}
          {transmit ? `  ${transmitText(transmit, w, utilization)}` : ""}
        </Text>
      </Box>
      <Tabs state={state} view={view} w={w} columns={columns} />
      <Box flexDirection="column" height={height} overflow="hidden">
        {body}
      </Box>
      <Box flexDirection="row" borderStyle="single" borderBottom={false} borderLeft={false} borderRight={false}>
        {footer}
      </Box>
    </Box>
  );
}
