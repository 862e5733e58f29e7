/**
 * Watch subscriptions over Server-Sent Events: GET /api/health/models/watch and /api/drift/watch.
 *
 * Each SSE event is one JSON message, `{success, kind, data, revision, timestamp}`: `kind` is
 * "snapshot" (with `data`: the first message, then one per change) or "heartbeat" (at least every
 * 15 s). A subscription delivers each snapshot once: after a reconnection, a snapshot with the
 * revision already delivered is skipped (docs/DEFINITIONS.md#watch-streams).
 *
 * It reconnects by itself when the stream breaks (server restart, dropped as a slow reader,
 * 5xx, network) or stays silent past `idleTimeoutMs`, with an exponential backoff; an answer the
 * caller must fix (400 bad parameter, 404 unknown model) ends it with an `AnalyticsError`.
 */

import { AnalyticsError, Code } from "./errors.js";

/** A snapshot: the watched report now. */
export interface Snapshot<T> {
  kind: "snapshot";
  data: T;
  /** Equal revisions: nothing a client acts on differs. */
  revision: string;
  /** When the snapshot was computed (RFC 3339). */
  timestamp: string;
}

/** Sent when nothing else was for STREAM_HEARTBEAT_S; carries the last snapshot's revision. */
export interface Heartbeat {
  kind: "heartbeat";
  revision: string;
  timestamp: string;
}

export type WatchEvent<T> = Snapshot<T> | Heartbeat;

export interface WatchHandlers<T> {
  /** Each new snapshot, in order, never the same revision twice in a row. */
  onSnapshot: (data: T, event: Snapshot<T>) => void;
  onHeartbeat?: (event: Heartbeat) => void;
  /** A failure; `retrying` says whether the subscription reconnects by itself. */
  onError?: (error: AnalyticsError, retrying: boolean) => void;
}

export interface WatchOptions {
  /** Reconnect when nothing (not even a heartbeat) arrived for this long; default 45000. */
  idleTimeoutMs?: number;
  /** The longest wait between reconnections; default 5000 (from 100, doubling). */
  maxBackoffMs?: number;
}

export interface Subscription {
  /** Stop for good: closes the connection, no more callbacks. */
  close(): void;
  readonly closed: boolean;
}

/** The part of the WHATWG EventSource used here (browsers' global one, or npm `eventsource`). */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: "message" | "error", listener: (event: SourceEvent) => void): void;
  close(): void;
}

/** What is read of an EventSource event: a message's `data`; an error's HTTP `code` (npm
 * `eventsource` sets it) and `message`. */
export interface SourceEvent {
  data?: unknown;
  code?: number | undefined;
  message?: string | undefined;
}

/** An EventSource constructor; `init.fetch` (npm `eventsource` honours it) carries the client's
 * token, which a browser's EventSource cannot send. */
export type EventSourceFactory = new (url: string, init?: { fetch?: typeof globalThis.fetch }) => EventSourceLike;

const CLOSED = 2;
/** HTTP statuses after which reconnecting is pointless until the request changes. */
const FINAL_STATUSES = new Set([400, 401, 403, 404, 405]);

/** Subscribe to `url`; see the module's comment. */
export function subscribe<T>(
  url: string,
  factory: EventSourceFactory,
  fetcher: typeof globalThis.fetch,
  handlers: WatchHandlers<T>,
  { idleTimeoutMs = 45_000, maxBackoffMs = 5_000 }: WatchOptions = {},
): Subscription {
  let source: EventSourceLike | undefined;
  let delivered = "";
  let closed = false;
  let backoffMs = 100;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const stop = () => {
    clearTimeout(idle);
    source?.close();
    source = undefined;
  };
  const reconnect = (error: AnalyticsError) => {
    stop();
    if (closed) return;
    handlers.onError?.(error, true);
    retry = setTimeout(open, backoffMs * (0.5 + Math.random() / 2));
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
  };
  const fail = (error: AnalyticsError) => {
    stop();
    if (closed) return;
    closed = true;
    handlers.onError?.(error, false);
  };
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(
      () => reconnect(new AnalyticsError(`no message from ${url} for ${idleTimeoutMs} ms`, {
        status: 0,
        code: Code.DEADLINE_EXCEEDED,
        url,
      })),
      idleTimeoutMs,
    );
  };

  function open() {
    if (closed) return;
    const current = new factory(url);
    source = current;
    armIdle();
    current.addEventListener("message", (event) => {
      if (source !== current) return;
      armIdle();
      backoffMs = 100;
      let message: WatchEvent<T>;
      try {
        message = JSON.parse(String(event.data)) as WatchEvent<T>;
      } catch (cause) {
        reconnect(new AnalyticsError("an event that is not JSON", { status: 200, code: Code.UNKNOWN, url, cause }));
        return;
      }
      if (message.kind === "heartbeat") {
        handlers.onHeartbeat?.(message);
      } else if (message.kind === "snapshot" && message.revision !== delivered) {
        delivered = message.revision;
        handlers.onSnapshot(message.data, message);
      }
    });
    current.addEventListener("error", (event) => {
      if (source !== current) return;
      const status = event.code ?? 0;
      if (current.readyState === CLOSED && FINAL_STATUSES.has(status)) {
        // The stream was refused before its first event: fetch the JSON error it carries.
        void explain(url, status, fetcher).then(fail);
        stop();
      } else {
        const reason = event.message ? `: ${event.message}` : "";
        reconnect(
          new AnalyticsError(`the stream from ${url} broke${reason}`, {
            status,
            code: status === 0 ? Code.UNAVAILABLE : (status >= 500 ? Code.UNAVAILABLE : Code.UNKNOWN),
            url,
          }),
        );
      }
    });
  }

  open();
  return {
    close() {
      closed = true;
      clearTimeout(retry);
      stop();
    },
    get closed() {
      return closed;
    },
  };
}

/** The service's JSON error for a refused stream (the same GET answers it at once). */
async function explain(url: string, status: number, fetcher: typeof globalThis.fetch): Promise<AnalyticsError> {
  try {
    const response = await fetcher(url, { headers: { accept: "application/json" } });
    if (!response.ok) {
      return AnalyticsError.fromResponse(response.status, response.statusText, await response.text(), url);
    }
    await response.body?.cancel(); // accepted this time: a stream, never to be read to its end
  } catch (cause) {
    return new AnalyticsError(`HTTP ${status} from ${url}`, { status, code: Code.UNKNOWN, url, cause });
  }
  return new AnalyticsError(`HTTP ${status} from ${url}`, { status, code: Code.UNKNOWN, url });
}
