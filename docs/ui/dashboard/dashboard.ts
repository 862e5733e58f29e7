// The desk view (/dashboard): the market clock, a live tile per model from the health watch
// stream, and the selected model's equity curve, metric series, rollback verdict and drift
// features. Plain DOM and fetch, no framework; the charts are uplot's (loaded before this script
// as the global `uPlot`). Everything comes from this service's REST API (same origin). When the
// service asks for a bearer token (a 401), the page asks the user for one, keeps it in
// sessionStorage and sends it in the Authorization header of every call, the watch stream's too
// (read with fetch: a browser's EventSource cannot send headers). The tabs of one browser session
// share it over a BroadcastChannel: a new tab asks the open ones before asking the user.
//
// Test hooks, stable (docs/DEFINITIONS.md#desk-view): `[data-model-id][data-status]` per tile,
// `[data-market-open]`, `[data-view="model"][data-model-id]` for the selected model,
// `[data-chart="equity"]` and `[data-chart="series"]` (their `plotted` property: the plotted
// numbers), `[data-marks]` with a `[data-mark]` per version change or change point,
// `[data-verdict]`, one `[data-feature]` per drift feature in the API's order, `[data-link]`,
// `form[data-auth]` (the token form).

// `uPlot` is uplot's global (its types declare it: `export as namespace uPlot`).

// ---- The REST JSON this page reads (proto field names, as Envoy prints them) ----

interface Envelope<T> {
  success: boolean;
  data: T;
  timestamp: string;
}

interface MarketState {
  calendar: string;
  open: boolean;
  last_close?: string;
  next_open?: string;
}

interface ModelHealth {
  model_id: string;
  model_version: string;
  status: string;
  health_score: number;
  prediction_count: number;
  win_rate: number;
  avg_latency_ms?: number;
  last_prediction?: string;
  minutes_since_last?: number;
  market_minutes_since_last?: number;
  issues: string[];
}

interface ModelHealthList {
  end_time: string;
  total_models: number;
  healthy_models: number;
  warning_models: number;
  critical_models: number;
  models: ModelHealth[];
  market?: MarketState;
}

/** One message of GET /api/health/models/watch (Server-Sent Events). */
interface WatchEvent {
  success: boolean;
  data?: ModelHealthList;
  timestamp: string;
  kind: "snapshot" | "heartbeat";
  revision: string;
}

interface PredictionRecord {
  inference_id: string;
  timestamp: string;
  model_version: string;
  action: string;
  reward?: number;
}

interface PredictionHistory {
  model_id: string;
  start_time: string;
  end_time: string;
  page: number;
  page_size: number;
  total: number;
  total_pages: number;
  predictions: PredictionRecord[];
}

interface FeatureDrift {
  feature: string;
  status: string;
  reason?: string;
  drift_score?: number;
  ks_statistic?: number;
  psi?: number;
  mean_change?: number;
  is_drifted: boolean;
}

interface DriftFeatures {
  model_id: string;
  overall_status: string;
  reason?: string;
  total_features: number;
  drifted_count: number;
  checked_count: number;
  features: FeatureDrift[];
  window_hours: number;
  baseline_days: number;
}

// ---- The model view's other endpoints ----

/** GET /api/models/{model_id}/versions */
interface ModelVersion {
  version: string;
  first_seen: string;
  last_seen: string;
  predictions: number;
  trades: number;
  total_reward: number;
  win_rate: number;
  sharpe_ratio: number;
  avg_latency_ms?: number;
}

interface ModelVersions {
  model_id: string;
  current_version: string;
  versions: ModelVersion[];
}

/** GET /api/models/{model_id}/versions/compare */
interface VersionSide {
  version: string;
  data_points: number;
  mean_reward?: number;
  sharpe_ratio?: number;
  win_rate?: number;
}

interface VersionComparison {
  model_id: string;
  method: "paired" | "welch";
  baseline?: VersionSide;
  candidate: VersionSide;
  common_bars: number;
  mean_difference?: number;
  difference_ci95?: { lower: number; upper: number };
  p_value?: number;
  min_bars: number;
  significance_level: number;
  verdict: "insufficient_data" | "rollback" | "candidate_better" | "no_significant_difference";
}

/** GET /api/anomalies/{model_id} */
interface ChangePoint {
  signal: string;
  at: string;
  before_mean: number;
  after_mean: number;
  shift: number;
  detector: string;
}

interface Anomaly {
  timestamp: string;
  signal: string;
  value: number;
  expected: number;
  score: number;
  detector: string;
}

interface Anomalies {
  model_id: string;
  window: string;
  signals: string[];
  change_points: ChangePoint[];
  anomalies: Anomaly[];
}

/** GET /api/metrics/series */
interface SeriesPoint {
  end_time: string;
  value?: number;
  data_points: number;
}

interface MetricSeries {
  metric?: string;
  window?: string;
  step?: string;
  points: SeriesPoint[];
}

/** The numbers a chart element plots, for whoever reads the page (and its tests). */
interface Plotted {
  /** Seconds since the epoch (UTC), ascending. */
  times: number[];
  values: number[];
}

/** The rolling series chart's numbers: a value (null where the API gives none) per time. */
interface PlottedSeries {
  times: number[];
  sharpe_ratio: (number | null)[];
  win_rate: (number | null)[];
}

interface ChartElement<P = Plotted> extends HTMLElement {
  plotted?: P;
}

// ---- Small helpers ----

const HISTORY_PAGE_SIZE = 1000;
const HISTORY_MAX_PAGES = 10;
const STALE_AFTER_MS = 45_000; // heartbeats come at least every 15 s
const REFRESH_VIEW_MS = 60_000;
const STATUS_ICON: Record<string, string> = { healthy: "✓", warning: "▲", critical: "✕" };

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// ---- The bearer token, when the service asks for one ----

/** Where the token is kept: for this tab, until it closes (sessionStorage, not localStorage). */
const TOKEN_KEY = "mlanalytics.desk.token";
/** What RFC 6750 allows in a bearer token (a JWT: three base64url parts joined by dots). */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** What the tabs of this browser session (same origin only) say of the token: a tab without
 * one asks; a tab with one answers, and a tab given one by its user tells the others. */
type TokenMessage = { kind: "ask" } | { kind: "token"; token: string };
const tokenChannel = "BroadcastChannel" in window ? new BroadcastChannel(TOKEN_KEY) : null;
/** The tokens the service refused in this tab: never taken again from another tab. */
const refusedTokens = new Set<string>();

function onTokenMessage(event: MessageEvent<TokenMessage>): void {
  const message = event.data;
  const mine = storedToken();
  if (message.kind === "ask" && mine !== null) {
    tokenChannel?.postMessage({ kind: "token", token: mine } satisfies TokenMessage);
  } else if (
    message.kind === "token" &&
    mine === null &&
    BEARER_TOKEN.test(message.token) &&
    !refusedTokens.has(message.token)
  ) {
    takeToken(message.token);
  }
}

function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

function withToken(headers: Record<string, string>, token: string | null): Record<string, string> {
  return token === null ? headers : { ...headers, authorization: `Bearer ${token}` };
}

/** A 401 to a request that carried `sent` (null: none): forget that token and ask for another,
 * unless a newer one is stored already (the requests made with it follow). */
function unauthorized(sent: string | null): void {
  if (sent !== storedToken()) return;
  sessionStorage.removeItem(TOKEN_KEY);
  if (sent !== null) refusedTokens.add(sent);
  const form = byId<HTMLFormElement>("token-form");
  form.dataset.auth = sent === null ? "needed" : "refused";
  byId("token-status").textContent =
    sent === null
      ? "This service asks for a bearer token."
      : "✕ The service refused the token (401: missing or invalid, perhaps expired). Enter another.";
  // The open stream was let in with the token just refused: close it, open none until a token.
  stream?.abort();
  stream = null;
  window.clearTimeout(pending);
  pending = undefined;
  setLink("connecting", "○ Waiting for a bearer token");
  if (form.hidden) {
    form.hidden = false;
    byId("token").focus();
  }
  // Another tab of this session may hold a good token (a refused one is not asked again).
  if (sent === null) tokenChannel?.postMessage({ kind: "ask" } satisfies TokenMessage);
}

function useToken(event: SubmitEvent): void {
  event.preventDefault(); // never submitted: the token stays out of URLs and request bodies
  const input = byId<HTMLInputElement>("token");
  const token = input.value.trim().replace(/^bearer\s+/i, "");
  if (!BEARER_TOKEN.test(token)) {
    byId("token-status").textContent =
      "✕ Not a bearer token: letters, digits and - . _ ~ + / only (a JWT is three parts joined by dots).";
    input.focus();
    return;
  }
  input.value = "";
  takeToken(token);
  tokenChannel?.postMessage({ kind: "token", token } satisfies TokenMessage);
}

/** Keep `token` and make every call again with it: the stream, the list, the open view. */
function takeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  byId("token-form").hidden = true;
  byId("tiles").focus();
  window.clearTimeout(pending);
  pending = undefined;
  retryMs = 1000;
  connect();
  void loadList();
  if (selected !== null) select(selected);
}

/** GET a JSON body of this service (with the token, if one is stored); a non-2xx answer throws
 * HttpError with its message, a 401 asks for a token. */
async function getJson<T>(path: string): Promise<T> {
  const token = storedToken();
  const headers = withToken({ accept: "application/json" }, token);
  const reply = await fetch(path, { headers });
  if (reply.status === 401) unauthorized(token);
  const body: unknown = await reply.json().catch(() => null);
  if (!reply.ok) {
    const message =
      body !== null && typeof body === "object" && "message" in body
        ? String((body as { message: unknown }).message)
        : reply.statusText;
    throw new HttpError(reply.status, `${reply.status}: ${message}`);
  }
  return body as T;
}

async function getData<T>(path: string): Promise<T> {
  return (await getJson<Envelope<T>>(path)).data;
}

function query(path: string, params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

function seconds(rfc3339: string): number {
  return Date.parse(rfc3339) / 1000;
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)} %`;
}

function number(value: number | undefined, digits = 2): string {
  return value === undefined ? "n/a" : value.toFixed(digits);
}

function duration(minutes: number): string {
  if (minutes < 1) return "under a minute";
  if (minutes < 90) return `${Math.round(minutes)} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${Math.round(minutes - hours * 60)} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The moment to the second, in RFC 3339 (`...T12:00:00Z`). */
function instant(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

/** How far the service's clock is ahead of this browser's (from the stream's timestamps). */
let serviceOffsetMs = 0;

/** The instant a model view is asked as of: the service's now, to the minute, so that the
 * desks open at one time ask the same questions (and share the service's cached answers). */
function viewInstant(): string {
  const minute = 60_000;
  return instant(new Date(Math.floor((Date.now() + serviceOffsetMs) / minute) * minute));
}

/** The version timeline, the verdict, the change points and the series are asked as of one
 * instant, `end` (the view's load): the two series share one grid of points, and whoever checks
 * a panel can ask the API the same question. */
function loadVersions(modelId: string, end: string): Promise<ModelVersions> {
  const path = `/api/models/${encodeURIComponent(modelId)}/versions`;
  return getData<ModelVersions>(query(path, { end_time: end }));
}

function loadVerdict(modelId: string, end: string): Promise<VersionComparison> {
  const path = `/api/models/${encodeURIComponent(modelId)}/versions/compare`;
  return getData<VersionComparison>(query(path, { end_time: end }));
}

function loadAnomalies(modelId: string, end: string): Promise<Anomalies> {
  const path = `/api/anomalies/${encodeURIComponent(modelId)}`;
  return getData<Anomalies>(query(path, { window: "7d", end_time: end }));
}

function loadSeries(modelId: string, metric: string, end: string): Promise<MetricSeries> {
  const params = { model_id: modelId, metric, window: "24h", end_time: end };
  return getData<MetricSeries>(query("/api/metrics/series", params));
}

/** The value of a request, or the error it failed with: for the parts of a panel that can fail
 * alone. */
function settled<T>(request: Promise<T>): Promise<T | Error> {
  return request.catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
}

// ---- The market clock ----

let market: MarketState | null = null;

function renderMarket(): void {
  const shown = byId("market");
  if (market === null) return;
  shown.dataset.marketOpen = String(market.open);
  shown.replaceChildren();
  const state = element("strong", market.open ? "open" : "closed");
  state.textContent = market.open ? "● Market open" : "○ Market closed";
  shown.append(state);
  if (!market.open && market.next_open) {
    const at = new Date(market.next_open);
    const minutes = Math.max(0, (at.getTime() - Date.now()) / 60_000);
    const when = at.toLocaleString(undefined, {
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
    });
    shown.append(` · opens ${when} (in ${duration(minutes)})`);
  }
  shown.title = `Calendar: ${market.calendar}`;
}

// ---- The tiles ----

let models: ModelHealth[] = [];
let selected: string | null = null;
let firstTiles = true;

function tileStats(model: ModelHealth): string {
  const parts = [
    `score ${Math.round(model.health_score)}`,
    `win ${percent(model.win_rate)}`,
    model.avg_latency_ms === undefined ? "latency n/a" : `${Math.round(model.avg_latency_ms)} ms`,
    model.market_minutes_since_last === undefined
      ? "no prediction"
      : `last ${duration(model.market_minutes_since_last)} ago (market time)`,
  ];
  return parts.join(" · ");
}

function fillTile(tile: HTMLButtonElement, model: ModelHealth): void {
  tile.dataset.modelId = model.model_id;
  tile.dataset.status = model.status;
  tile.className = `tile status-${model.status}`;
  tile.setAttribute("aria-pressed", String(model.model_id === selected));
  const head = element("span", "tile-head");
  head.append(element("span", "name", model.model_id));
  const badge = element("span", "badge");
  badge.append(element("span", "icon", STATUS_ICON[model.status] ?? "?"), ` ${model.status}`);
  badge.querySelector(".icon")?.setAttribute("aria-hidden", "true");
  head.append(badge);
  const parts: HTMLElement[] = [head, element("span", "stats", tileStats(model))];
  if (model.issues.length > 0) {
    const issues = element("span", "issues");
    for (const issue of model.issues) issues.append(element("span", "issue", issue));
    parts.push(issues);
  }
  tile.replaceChildren(...parts);
}

function renderTiles(list: ModelHealthList): void {
  models = list.models;
  const container = byId("tiles");
  const existing = new Map<string, HTMLButtonElement>();
  for (const tile of container.querySelectorAll<HTMLButtonElement>("button[data-model-id]")) {
    existing.set(tile.dataset.modelId ?? "", tile);
  }
  const ordered: HTMLButtonElement[] = [];
  for (const model of list.models) {
    let tile = existing.get(model.model_id);
    existing.delete(model.model_id);
    if (tile === undefined) {
      tile = element("button");
      tile.type = "button";
      const id = model.model_id;
      tile.addEventListener("click", () => select(id));
    }
    fillTile(tile, model);
    ordered.push(tile);
  }
  for (const gone of existing.values()) gone.remove();
  const current = [...container.children];
  if (current.length !== ordered.length || current.some((node, i) => node !== ordered[i])) {
    container.replaceChildren(...ordered); // only when the order changed: keeps the focus
  }
  if (list.models.length === 0) {
    container.replaceChildren(element("p", "note", "No model predicted in the last 7 days."));
  }
  byId("summary").textContent =
    `${list.total_models}: ${list.critical_models} critical, ${list.warning_models} warning,` +
    ` ${list.healthy_models} healthy`;
  if (firstTiles && list.models.length > 0) {
    firstTiles = false;
    performance.mark("desk:first-tiles");
  }
  if (selected !== null) renderViewStatus();
}

function applySnapshot(list: ModelHealthList): void {
  if (list.market) {
    market = list.market;
    renderMarket();
  }
  renderTiles(list);
}

// ---- The health watch stream, reconnecting by itself ----

const WATCH = "/api/health/models/watch";

/** One event of a Server-Sent Events stream. */
interface StreamEvent {
  type: string;
  data: string;
}

/** The events of a `text/event-stream` body as they complete (the WHATWG format: `data:` and
 * `event:` fields, `:` comments, an empty line ends an event; Envoy's streams carry no `id:`,
 * and other fields are ignored). Resolves when the body ends; rejects when it breaks or is
 * aborted. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: StreamEvent) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder(); // UTF-8; drops a leading byte order mark
  let buffer = "";
  let data: string[] = [];
  let type = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return; // an event not ended by an empty line is dropped, as EventSource does
    buffer += decoder.decode(value, { stream: true });
    // A chunk may end between the \r and \n of one line break: keep a final \r for the next.
    const complete = buffer.endsWith("\r") ? buffer.length - 1 : buffer.length;
    const lines = buffer.slice(0, complete).split(/\r\n|\r|\n/);
    buffer = (lines.pop() ?? "") + buffer.slice(complete);
    for (const line of lines) {
      if (line === "") {
        if (data.length > 0) onEvent({ type: type || "message", data: data.join("\n") });
        data = [];
        type = "";
        continue;
      }
      const colon = line.indexOf(":");
      if (colon === 0) continue; // a comment
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (name === "data") data.push(value);
      else if (name === "event") type = value;
    }
  }
}

/** The open stream's controller (null between streams and while a token is awaited). */
let stream: AbortController | null = null;
let retryMs = 1000;
let lastMessage = 0;

function setLink(state: "live" | "connecting" | "reconnecting", text: string): void {
  const link = byId("link");
  link.dataset.link = state;
  link.textContent = text;
}

function onMessage(text: string): void {
  lastMessage = Date.now();
  retryMs = 1000;
  let event: WatchEvent;
  try {
    event = JSON.parse(text) as WatchEvent;
  } catch {
    return;
  }
  const said = Date.parse(event.timestamp);
  if (!Number.isNaN(said)) serviceOffsetMs = said - Date.now();
  setLink("live", "● Live");
  if (event.kind === "snapshot" && event.data) {
    const reconnected = byId("link").dataset.wasDown === "true";
    delete byId("link").dataset.wasDown;
    applySnapshot(event.data);
    if (reconnected && selected !== null) void loadView(selected);
  }
}

/** Open a new stream (closing the current one), with the token if one is stored. */
function connect(): void {
  stream?.abort();
  const controller = new AbortController();
  stream = controller;
  lastMessage = Date.now();
  void watch(controller);
}

async function watch(controller: AbortController): Promise<void> {
  const token = storedToken();
  const headers = withToken({ accept: "text/event-stream" }, token);
  try {
    const reply = await fetch(WATCH, { headers, cache: "no-store", signal: controller.signal });
    const type = reply.headers.get("content-type") ?? "";
    if (reply.status === 401) {
      await reply.body?.cancel();
      if (stream === controller) stream = null; // no new stream until a token is given
      unauthorized(token);
      return;
    }
    if (reply.ok && type.startsWith("text/event-stream") && reply.body !== null) {
      await readEvents(reply.body, (event) => {
        if (stream === controller && event.type === "message") onMessage(event.data);
      });
    } else {
      await reply.body?.cancel(); // Envoy's 503 while the service restarts, ...
    }
  } catch {
    // Aborted (a newer stream, the watchdog) or broken (the service stopped): said below.
  }
  if (stream === controller) lost();
}

/** The stream ended or could not open: say so and open another after a pause. */
function lost(): void {
  stream?.abort();
  stream = null;
  byId("link").dataset.wasDown = "true";
  setLink("reconnecting", "○ Reconnecting to the service");
  schedule();
}

let pending: number | undefined;

/** A new stream after a growing pause (1 s, 2 s, ... 15 s; back to 1 s once a message came). */
function schedule(): void {
  if (pending !== undefined) return;
  pending = window.setTimeout(() => {
    pending = undefined;
    connect();
  }, retryMs);
  retryMs = Math.min(retryMs * 2, 15_000);
}

/** A stream with no message (not even a heartbeat) for STALE_AFTER_MS is dead: replace it. */
function watchdog(): void {
  if (stream !== null && Date.now() - lastMessage > STALE_AFTER_MS) lost();
}

// ---- The model view ----

const charts = new Map<string, uPlot>();
let viewGeneration = 0;

function renderViewStatus(): void {
  const model = models.find((m) => m.model_id === selected);
  const status = byId("model-status");
  if (model === undefined) {
    status.textContent = "Not in the health list (no prediction in the last 7 days).";
    status.className = "view-status";
    return;
  }
  status.className = `view-status status-${model.status}`;
  status.textContent =
    `${STATUS_ICON[model.status] ?? "?"} ${model.status} · version ${model.model_version} · ` +
    tileStats(model);
  for (const tile of byId("tiles").querySelectorAll<HTMLButtonElement>("button[data-model-id]")) {
    tile.setAttribute("aria-pressed", String(tile.dataset.modelId === selected));
  }
}

function select(modelId: string): void {
  selected = modelId;
  const view = byId("model");
  view.dataset.modelId = modelId;
  view.hidden = false;
  byId("model-title").textContent = modelId;
  if (location.hash !== `#model=${encodeURIComponent(modelId)}`) {
    history.replaceState(null, "", `#model=${encodeURIComponent(modelId)}`);
  }
  renderViewStatus();
  void loadView(modelId);
}

function chartWidth(container: HTMLElement): number {
  return Math.max(240, Math.floor(container.clientWidth));
}

function drawChart(
  key: string,
  container: HTMLElement,
  data: uPlot.AlignedData,
  options: Omit<uPlot.Options, "width" | "height">,
): void {
  charts.get(key)?.destroy();
  container.replaceChildren();
  const width = chartWidth(container);
  const chart = new uPlot({ ...options, width, height: width < 500 ? 180 : 240 }, data, container);
  charts.set(key, chart);
}

/** Every settled reward of the model's last 7 days, oldest first (the newest pages first, at most
 * HISTORY_MAX_PAGES of them), and the range they were read over. */
async function loadHistory(
  modelId: string,
): Promise<{ rows: PredictionRecord[]; first: PredictionHistory; complete: boolean }> {
  const base = "/api/predictions/history";
  const first = await getData<PredictionHistory>(
    query(base, { model_id: modelId, page_size: HISTORY_PAGE_SIZE, page: 1 }),
  );
  const pages = [first.predictions];
  const last = Math.min(first.total_pages, HISTORY_MAX_PAGES);
  for (let page = 2; page <= last; page++) {
    const more = await getData<PredictionHistory>(
      query(base, {
        model_id: modelId,
        page_size: HISTORY_PAGE_SIZE,
        page,
        start_time: first.start_time,
        end_time: first.end_time,
      }),
    );
    pages.push(more.predictions);
  }
  const rows = pages.flat().reverse(); // newest first -> oldest first
  return { rows, first, complete: first.total_pages <= HISTORY_MAX_PAGES };
}

function equityOf(rows: PredictionRecord[]): Plotted {
  const times: number[] = [];
  const values: number[] = [];
  let total = 0;
  for (const row of rows) {
    if (row.reward === undefined) continue;
    total += row.reward;
    times.push(seconds(row.timestamp));
    values.push(total);
  }
  return { times, values };
}

/** Vertical lines at the given instants (seconds), labelled, drawn over a chart. */
function markerPlugin(marks: { at: number; label: string; colour: string }[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u: uPlot) => {
          const context = u.ctx;
          context.save();
          for (const mark of marks) {
            const x = Math.round(u.valToPos(mark.at, "x", true));
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            context.strokeStyle = mark.colour;
            context.setLineDash([4, 3]);
            context.beginPath();
            context.moveTo(x, u.bbox.top);
            context.lineTo(x, u.bbox.top + u.bbox.height);
            context.stroke();
            context.fillStyle = mark.colour;
            context.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
            context.fillText(mark.label, x + 4, u.bbox.top + 14 * devicePixelRatio);
          }
          context.restore();
        },
      ],
    },
  };
}

interface Mark {
  kind: "version" | "change-point";
  /** As the API wrote it (RFC 3339). */
  at: string;
  label: string;
  /** The version, or the signal that shifted. */
  name: string;
  colour: string;
}

/** The version changes (each version after the first, from its first row) and the change points
 * of the curve: listed in words under the chart, drawn on it. */
function marksOf(versions: ModelVersions | Error, anomalies: Anomalies | Error): Mark[] {
  const marks: Mark[] = [];
  if (!(versions instanceof Error)) {
    for (const version of versions.versions.slice(1)) {
      const label = `v${version.version}`;
      const at = version.first_seen;
      marks.push({ kind: "version", at, label, name: version.version, colour: "#5a32a3" });
    }
  }
  if (!(anomalies instanceof Error)) {
    for (const change of anomalies.change_points) {
      const label = `${change.signal} shift`;
      marks.push({ kind: "change-point", at: change.at, label, name: change.signal, colour: "#9a6700" });
    }
  }
  return marks;
}

function renderMarks(
  marks: Mark[],
  end: string,
  versions: ModelVersions | Error,
  anomalies: Anomalies | Error,
): void {
  const list = byId("marks");
  list.dataset.endTime = end;
  list.replaceChildren(
    ...marks.map((mark) => {
      const item = element("li", `mark mark-${mark.kind}`);
      item.dataset.mark = mark.kind;
      item.dataset.at = mark.at;
      item.dataset.name = mark.name;
      const when = new Date(mark.at).toLocaleString(undefined, {
        weekday: "short",
        month: "short",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
      });
      const what = mark.kind === "version" ? `version ${mark.name} from` : `${mark.name} shift at`;
      item.textContent = `${mark.kind === "version" ? "◆" : "▲"} ${what} ${when}`;
      return item;
    }),
  );
  const count = (kind: Mark["kind"]) => marks.filter((m) => m.kind === kind).length;
  const parts = [
    versions instanceof Error
      ? `version changes not available (${versions.message})`
      : `${count("version")} version changes`,
    anomalies instanceof Error
      ? `change points not available (${anomalies.message})`
      : `${count("change-point")} change points`,
  ];
  byId("markers-note").textContent = `Marked: ${parts.join("; ")}.`;
}

async function renderEquity(modelId: string, end: string, generation: number): Promise<void> {
  const container = byId<ChartElement>("equity");
  const note = byId("equity-note");
  const [history, versions, anomalies] = await Promise.all([
    settled(loadHistory(modelId)),
    settled(loadVersions(modelId, end)),
    settled(loadAnomalies(modelId, end)),
  ]);
  if (generation !== viewGeneration) return;
  const marks = marksOf(versions, anomalies);
  renderMarks(marks, end, versions, anomalies);
  if (history instanceof Error) {
    container.plotted = { times: [], values: [] };
    container.dataset.points = "0";
    note.textContent = `Equity not available: ${history.message}`;
    return;
  }
  const plotted = equityOf(history.rows);
  container.plotted = plotted;
  container.dataset.points = String(plotted.values.length);
  container.dataset.startTime = history.first.start_time;
  container.dataset.endTime = history.first.end_time;
  if (plotted.values.length === 0) {
    charts.get("equity")?.destroy();
    charts.delete("equity");
    container.replaceChildren();
    note.textContent = "No settled reward in the last 7 days.";
    return;
  }
  const drawn = marks.map((mark) => ({ at: seconds(mark.at), label: mark.label, colour: mark.colour }));
  drawChart("equity", container, [plotted.times, plotted.values], {
    series: [{}, { label: "cumulative reward", stroke: "#0969da", width: 2 }],
    axes: [{}, { size: 60 }],
    legend: { show: false },
    plugins: [markerPlugin(drawn)],
  });
  const total = plotted.values[plotted.values.length - 1] ?? 0;
  note.textContent =
    `${plotted.values.length} settled rewards since ${new Date(history.first.start_time).toLocaleString()}` +
    `, total ${total.toFixed(4)}` +
    (history.complete ? "." : ` (the newest ${HISTORY_MAX_PAGES * HISTORY_PAGE_SIZE} rows).`);
}

async function renderSeries(modelId: string, end: string, generation: number): Promise<void> {
  const container = byId<ChartElement<PlottedSeries>>("series");
  const note = byId("series-note");
  let sharpe: MetricSeries;
  let winRate: MetricSeries;
  try {
    [sharpe, winRate] = await Promise.all([
      loadSeries(modelId, "sharpe_ratio", end),
      loadSeries(modelId, "win_rate", end),
    ]);
  } catch (error) {
    if (generation !== viewGeneration) return;
    charts.get("series")?.destroy();
    charts.delete("series");
    container.replaceChildren();
    container.hidden = true;
    container.plotted = { times: [], sharpe_ratio: [], win_rate: [] };
    note.textContent = `Not available: ${errorText(error)}`;
    return;
  }
  if (generation !== viewGeneration) return;
  container.hidden = false;
  // Both series are asked for the same end_time, so their points share one grid.
  const times = sharpe.points.map((p) => seconds(p.end_time));
  const wins = new Map(winRate.points.map((p) => [p.end_time, p.value ?? null]));
  const plotted: PlottedSeries = {
    times,
    sharpe_ratio: sharpe.points.map((p) => p.value ?? null),
    win_rate: sharpe.points.map((p) => wins.get(p.end_time) ?? null),
  };
  container.plotted = plotted;
  container.dataset.points = String(times.length);
  container.dataset.endTime = end;
  drawChart("series", container, [times, plotted.sharpe_ratio, plotted.win_rate], {
    series: [
      {},
      { label: "Sharpe", stroke: "#0969da", width: 2, scale: "sharpe" },
      { label: "win rate", stroke: "#bc4c00", width: 2, dash: [6, 3], scale: "rate" },
    ],
    scales: { rate: { range: [0, 1] } },
    axes: [{}, { scale: "sharpe", size: 50 }, { scale: "rate", side: 1, size: 50 }],
  });
  note.textContent = `${times.length} points, one per hour (24 h windows).`;
}

async function renderVerdict(modelId: string, end: string, generation: number): Promise<void> {
  const shown = byId("verdict");
  let verdict: VersionComparison;
  try {
    verdict = await loadVerdict(modelId, end);
  } catch (error) {
    if (generation !== viewGeneration) return;
    shown.textContent = `Not available: ${errorText(error)}`;
    delete shown.dataset.verdict;
    shown.dataset.endTime = end;
    return;
  }
  if (generation !== viewGeneration) return;
  shown.dataset.verdict = verdict.verdict;
  shown.dataset.endTime = end;
  const words: Record<VersionComparison["verdict"], string> = {
    rollback: "✕ Roll back: the new version is worse",
    candidate_better: "✓ The new version is better",
    no_significant_difference: "= No significant difference",
    insufficient_data: "… Not enough data to compare",
  };
  const versions = verdict.baseline
    ? ` (${verdict.candidate.version} against ${verdict.baseline.version}, ${verdict.method}` +
      `, p = ${number(verdict.p_value, 3)})`
    : ` (${verdict.candidate.version})`;
  shown.textContent = words[verdict.verdict] + versions;
}

async function renderDrift(modelId: string, generation: number): Promise<void> {
  const list = byId("features");
  const summary = byId("drift-summary");
  try {
    const path = query("/api/drift/features", { model_id: modelId });
    const drift = await getData<DriftFeatures>(path);
    if (generation !== viewGeneration) return;
    summary.dataset.status = drift.overall_status;
    summary.textContent =
      `${STATUS_ICON[drift.overall_status] ?? "?"} ${drift.overall_status}: ` +
      `${drift.drifted_count} of ${drift.checked_count} checked features drifted ` +
      `(last ${drift.window_hours} h against the ${drift.baseline_days} days before)` +
      (drift.reason ? `. ${drift.reason}` : ".");
    list.replaceChildren(
      ...drift.features.map((feature) => {
        const item = element("li", `feature feature-${feature.status}`);
        item.dataset.feature = feature.feature;
        item.dataset.status = feature.status;
        const name = element("span", "name", feature.feature);
        const facts =
          feature.status === "skipped"
            ? `skipped${feature.reason ? `: ${feature.reason}` : ""}`
            : `${feature.is_drifted ? "▲ drifted" : "✓ stable"} · KS ${number(feature.ks_statistic)}` +
              ` · PSI ${number(feature.psi)} · mean change ${number(feature.mean_change)}`;
        item.append(name, element("span", "facts", facts));
        return item;
      }),
    );
  } catch (error) {
    if (generation !== viewGeneration) return;
    list.replaceChildren();
    summary.textContent = `Drift not available: ${errorText(error)}`;
  }
}

async function loadView(modelId: string): Promise<void> {
  const generation = ++viewGeneration;
  const view = byId("model");
  view.setAttribute("aria-busy", "true");
  const end = viewInstant();
  await Promise.all([
    renderEquity(modelId, end, generation),
    renderSeries(modelId, end, generation),
    renderVerdict(modelId, end, generation),
    renderDrift(modelId, generation),
  ]);
  if (generation === viewGeneration) view.removeAttribute("aria-busy");
}

function resizeCharts(): void {
  for (const [key, chart] of charts) {
    const container = byId(key);
    const width = chartWidth(container);
    chart.setSize({ width, height: width < 500 ? 180 : 240 });
  }
}

// ---- Start ----

/** The health list at once (the stream's first snapshot carries it too; this answers sooner on a
 * cold start), unless tiles are shown already. */
async function loadList(): Promise<void> {
  try {
    const list = await getData<ModelHealthList>("/api/health/models");
    if (firstTiles) applySnapshot(list);
  } catch {
    // The stream says whether the service is there.
  }
}

/** The service says (a meta tag of the page) that it asks for bearer tokens. */
function tokensRequired(): boolean {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="mlanalytics-tokens"]');
  return meta?.content === "required";
}

async function start(): Promise<void> {
  byId<HTMLFormElement>("token-form").addEventListener("submit", useToken);
  tokenChannel?.addEventListener("message", onTokenMessage);
  if (tokensRequired() && storedToken() === null) {
    // Ask first: no call that the edge would refuse (each refusal is a console error).
    unauthorized(null);
    const wanted = /^#model=(.+)$/.exec(location.hash);
    if (wanted?.[1]) selected = decodeURIComponent(wanted[1]); // shown once a token is given
    startTimers();
    return;
  }
  connect();
  startTimers();
  const wanted = /^#model=(.+)$/.exec(location.hash);
  if (wanted?.[1]) select(decodeURIComponent(wanted[1]));
  await loadList();
}

function startTimers(): void {
  window.setInterval(watchdog, 5_000);
  window.setInterval(renderMarket, 30_000);
  window.setInterval(() => {
    if (selected !== null && !document.hidden && byId("token-form").hidden) void loadView(selected);
  }, REFRESH_VIEW_MS);
  let resizing: number | undefined;
  window.addEventListener("resize", () => {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(resizeCharts, 150);
  });
}

void start();
