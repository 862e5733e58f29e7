/**
 * A typed fetch client for the ML Analytics REST API (Envoy's transcoding of the gRPC services).
 *
 * One method per documented path, named after its RPC and generated from the protos
 * (`gen/methods.ts`). Each takes the path's query parameters as one object with their REST names
 * (`{ model_id, window, end_time }`; those the protos declare required must be given), returns the
 * response's `data` (or the whole body for `/health` and `/`), typed by the interfaces generated
 * from the protos, and throws an `AnalyticsError` for anything else. The watch methods are written
 * here.
 */

import { AnalyticsError, Code } from "./errors.js";
import type { DriftReport } from "./gen/mlanalytics/v1/common.js";
import type { WatchDriftRequest } from "./gen/mlanalytics/v1/drift_service.js";
import type { ModelHealthList } from "./gen/mlanalytics/v1/health_service.js";
import { type Data, Methods } from "./gen/methods.js";
import { PATHS } from "./gen/paths.js";
import type { CallOptions, Params } from "./params.js";
import { type EventSourceFactory, type Subscription, subscribe, type WatchHandlers, type WatchOptions } from "./watch.js";

/** The verdicts of an A/B comparison (`ModelAbComparison.verdict`). */
export type Verdict = "model_a" | "model_b" | "no_significant_difference" | "insufficient_data";

/** The verdicts of a version comparison (`ModelVersionComparison.verdict`). */
export type VersionVerdict = "rollback" | "candidate_better" | "no_significant_difference" | "insufficient_data";

export interface ClientOptions {
  /** Envoy's REST port; default "http://localhost:8004". A path prefix is kept. */
  baseUrl?: string;
  /** Per-call deadline in milliseconds, body included; default 10000. */
  timeoutMs?: number;
  /** The fetch to use; default the global one. */
  fetch?: typeof globalThis.fetch;
  /** The EventSource of the watch methods; default the global one (browsers, Node 22+), else
   * pass npm `eventsource`'s. */
  eventSource?: EventSourceFactory;
  /** A bearer token (JWT), sent as `authorization: Bearer <token>` on every request, for a
   * deployment that asks for one (docs/SECURITY.md); the watch streams send it through the
   * EventSource's `fetch` option (npm `eventsource`). */
  token?: string;
}

export class AnalyticsClient extends Methods {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly #fetch: typeof globalThis.fetch;
  readonly #eventSource: EventSourceFactory | undefined;

  constructor({ baseUrl = "http://localhost:8004", timeoutMs = 10_000, fetch, eventSource, token }: ClientOptions = {}) {
    super();
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.timeoutMs = timeoutMs;
    const base: typeof globalThis.fetch = fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#fetch = token === undefined ? base : withToken(base, token);
    const factory = eventSource ?? (globalThis as { EventSource?: EventSourceFactory }).EventSource;
    const fetcher = this.#fetch;
    this.#eventSource =
      token === undefined || factory === undefined
        ? factory
        : (function (url: string) {
            return new factory(url, { fetch: fetcher });
          } as unknown as EventSourceFactory);
  }

  /** GET /api/health/models/watch: the model-health list now and on every change of a model's
   * status or issues; heartbeats at least every 15 s. Reconnects by itself; see `watch.ts`. */
  watchModelHealth(handlers: WatchHandlers<ModelHealthList>, options?: WatchOptions): Subscription {
    return this.#watch(PATHS.WatchModelHealth, {}, handlers, options);
  }

  /** GET /api/drift/watch: one model's drift report now and on every change of its status or
   * drifted features; heartbeats at least every 15 s. */
  watchDrift(
    params: Params<WatchDriftRequest, "model_id">,
    handlers: WatchHandlers<DriftReport>,
    options?: WatchOptions,
  ): Subscription {
    return this.#watch(PATHS.WatchDrift, params, handlers, options);
  }

  #watch<T>(path: string, params: object, handlers: WatchHandlers<T>, options?: WatchOptions): Subscription {
    if (this.#eventSource === undefined) {
      throw new TypeError("no EventSource: pass ClientOptions.eventSource (npm `eventsource` on Node 20)");
    }
    return subscribe(this.baseUrl + path + query(params), this.#eventSource, this.#fetch, handlers, options);
  }

  /** GET an /api/... path and unwrap its envelope {success, data, timestamp}. */
  protected async data<R extends { success: boolean; data?: unknown }>(
    template: string,
    params: object,
    call: CallOptions | undefined,
  ): Promise<Data<R>> {
    const [path, rest] = fill(template, params);
    const body = await this.#get<Partial<R>>(path, rest, call);
    if (body.success !== true || body.data === undefined || body.data === null) {
      throw new AnalyticsError("response is not a {success: true, data} envelope", {
        status: 200,
        code: Code.UNKNOWN,
        url: this.baseUrl + path,
      });
    }
    return body.data as Data<R>;
  }

  /** GET a path and parse its JSON body (a response without an envelope). */
  protected body<R>(template: string, params: object, call: CallOptions | undefined): Promise<R> {
    const [path, rest] = fill(template, params);
    return this.#get<R>(path, rest, call);
  }

  /** GET a path and parse its JSON body; any other outcome is an AnalyticsError. */
  async #get<T>(path: string, params: object, call: CallOptions | undefined): Promise<T> {
    const url = this.baseUrl + path + query(params);
    const timeoutMs = call?.timeoutMs ?? this.timeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const signal = call?.signal;
    const cancel = () => controller.abort(signal?.reason);
    if (signal?.aborted) cancel();
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      const response = await this.#fetch(url, {
        headers: { accept: "application/json" },
        signal: controller.signal,
      });
      const text = await response.text();
      if (!response.ok) throw AnalyticsError.fromResponse(response.status, response.statusText, text, url);
      try {
        return JSON.parse(text) as T;
      } catch (error) {
        throw new AnalyticsError(`HTTP ${response.status} with a body that is not JSON`, {
          status: response.status,
          code: Code.UNKNOWN,
          url,
          cause: error,
        });
      }
    } catch (error) {
      if (error instanceof AnalyticsError) throw error;
      if (timedOut) {
        throw new AnalyticsError(`no response from ${url} within ${timeoutMs} ms`, {
          status: 0,
          code: Code.DEADLINE_EXCEEDED,
          url,
          cause: error,
        });
      }
      if (signal?.aborted) throw error;
      throw new AnalyticsError(`cannot reach ${url}: ${describe(error)}`, {
        status: 0,
        code: Code.UNAVAILABLE,
        url,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", cancel);
    }
  }
}

/** The path of a `{field}` template with those fields of `params` filled in, and the others. */
function fill(template: string, params: object): [string, object] {
  const rest: Record<string, unknown> = { ...params };
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = rest[name];
    delete rest[name];
    return encodeURIComponent(String(value));
  });
  return [path, rest];
}

/**
 * The query string of the defined parameters. Percent-encoding throughout: Envoy's transcoder
 * takes "+" literally, so URLSearchParams' form encoding of spaces would change the value.
 */
function query(params: object): string {
  const pairs = Object.entries(params)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => {
      const text = value instanceof Date ? value.toISOString() : String(value);
      return `${encodeURIComponent(key)}=${encodeURIComponent(text)}`;
    });
  return pairs.length ? `?${pairs.join("&")}` : "";
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return error.message + cause;
}

/** `fetcher` with `authorization: Bearer <token>` added to every request's headers. */
function withToken(fetcher: typeof globalThis.fetch, token: string): typeof globalThis.fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer ${token}`);
    return fetcher(input, { ...init, headers });
  };
}
