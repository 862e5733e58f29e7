/**
 * A typed fetch client for the ML Analytics REST API (Envoy's transcoding of the gRPC services).
 *
 * One method per documented path, named after its RPC. Each takes the path's query parameters as
 * one object with their REST names (`{ model_id, window, end_time }`), returns the response's
 * `data` (or the whole body for `/health` and `/`), typed by the interfaces generated from the
 * protos, and throws an `AnalyticsError` for anything else.
 */

import { AnalyticsError, Code } from "./errors.js";
import type { DriftReport } from "./gen/mlanalytics/v1/common.js";
import type {
  GetDriftFeaturesRequest,
  GetDriftFeaturesResponse,
  GetDriftStatusRequest,
  GetDriftStatusResponse,
  WatchDriftRequest,
} from "./gen/mlanalytics/v1/drift_service.js";
import type {
  GetModelHealthRequest,
  GetModelHealthResponse,
  GetServiceHealthResponse,
  GetServiceInfoResponse,
  ListModelHealthRequest,
  ListModelHealthResponse,
  ModelHealthList,
} from "./gen/mlanalytics/v1/health_service.js";
import type {
  GetCustomMetricDefinitionsResponse,
  GetCustomMetricsRequest,
  GetCustomMetricsResponse,
  GetMetricSeriesRequest,
  GetMetricSeriesResponse,
  GetMetricsSummaryRequest,
  GetMetricsSummaryResponse,
  GetModelMetricsRequest,
  GetModelMetricsResponse,
  GetRollingMetricsRequest,
  GetRollingMetricsResponse,
} from "./gen/mlanalytics/v1/metrics_service.js";
import type { GetAnomaliesRequest, GetAnomaliesResponse } from "./gen/mlanalytics/v1/anomaly_service.js";
import type {
  CompareModelsRequest,
  CompareModelsResponse,
  GetPerformanceComparisonRequest,
  GetPerformanceComparisonResponse,
  GetPerformanceTrendsRequest,
  GetPerformanceTrendsResponse,
} from "./gen/mlanalytics/v1/performance_service.js";
import { PATHS } from "./gen/paths.js";
import type {
  CompareModelVersionsRequest,
  CompareModelVersionsResponse,
  ListModelVersionsRequest,
  ListModelVersionsResponse,
} from "./gen/mlanalytics/v1/version_service.js";
import type {
  GetPredictionAccuracyRequest,
  GetPredictionAccuracyResponse,
  GetPredictionComparisonRequest,
  GetPredictionComparisonResponse,
  GetPredictionHistoryRequest,
  GetPredictionHistoryResponse,
} from "./gen/mlanalytics/v1/prediction_service.js";
import { type EventSourceFactory, type Subscription, subscribe, type WatchHandlers, type WatchOptions } from "./watch.js";

/** A metrics window. */
export type Window = "1h" | "24h" | "7d" | "30d";

/** The query parameters of a request message, all optional; times as RFC 3339 strings or Dates. */
export type Params<R> = {
  [K in keyof R]?: K extends "window" ? Window : K extends `${string}_time` ? string | Date : R[K];
};

/** The same, with `model_id` required. */
export type ModelParams<R extends { model_id: string }> = Params<Omit<R, "model_id">> & {
  model_id: string;
};

/** The A/B comparison's parameters: both models required, and different. */
export type PairParams = Params<Omit<CompareModelsRequest, "model_a" | "model_b">> & {
  model_a: string;
  model_b: string;
};

/** The verdicts of an A/B comparison (`ModelAbComparison.verdict`). */
export type Verdict = "model_a" | "model_b" | "no_significant_difference" | "insufficient_data";

/** The verdicts of a version comparison (`ModelVersionComparison.verdict`). */
export type VersionVerdict = "rollback" | "candidate_better" | "no_significant_difference" | "insufficient_data";

/** The `data` of an envelope response. */
type Data<R extends { data?: unknown }> = NonNullable<R["data"]>;

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

export interface CallOptions {
  /** Cancels the call; the fetch's AbortError is rethrown as it is. */
  signal?: AbortSignal;
  /** This call's deadline instead of the client's. */
  timeoutMs?: number;
}

export class AnalyticsClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly #fetch: typeof globalThis.fetch;
  readonly #eventSource: EventSourceFactory | undefined;

  constructor({ baseUrl = "http://localhost:8004", timeoutMs = 10_000, fetch, eventSource, token }: ClientOptions = {}) {
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

  // MetricsService

  /** GET /api/metrics/summary: rolling 24 h metrics of every recent model, with aggregates. */
  getMetricsSummary(params: Params<GetMetricsSummaryRequest> = {}, call?: CallOptions) {
    return this.#data<GetMetricsSummaryResponse>(PATHS.GetMetricsSummary, params, call);
  }

  /** GET /api/metrics/rolling: metrics of one model over one window (default 24h). */
  getRollingMetrics(params: ModelParams<GetRollingMetricsRequest>, call?: CallOptions) {
    return this.#data<GetRollingMetricsResponse>(PATHS.GetRollingMetrics, params, call);
  }

  /** GET /api/metrics/model/{model_id}: rolling metrics, drift and accuracy of one model. */
  getModelMetrics(params: ModelParams<GetModelMetricsRequest>, call?: CallOptions) {
    return this.#data<GetModelMetricsResponse>(PATHS.GetModelMetrics, params, call);
  }

  /** GET /api/metrics/series: one metric (rolling or custom) at every step of a range. */
  getMetricSeries(params: ModelParams<GetMetricSeriesRequest>, call?: CallOptions) {
    return this.#data<GetMetricSeriesResponse>(PATHS.GetMetricSeries, params, call);
  }

  /** GET /api/metrics/custom: the desk's own metrics (CUSTOM_METRICS_FILE) of one model. */
  getCustomMetrics(params: ModelParams<GetCustomMetricsRequest>, call?: CallOptions) {
    return this.#data<GetCustomMetricsResponse>(PATHS.GetCustomMetrics, params, call);
  }

  /** GET /api/metrics/custom/definitions: the custom metric definitions in force. */
  getCustomMetricDefinitions(call?: CallOptions) {
    return this.#data<GetCustomMetricDefinitionsResponse>(PATHS.GetCustomMetricDefinitions, {}, call);
  }

  // PredictionService

  /** GET /api/predictions/accuracy: accuracy, macro P/R/F1, per action, confusion matrix. */
  getPredictionAccuracy(params: ModelParams<GetPredictionAccuracyRequest>, call?: CallOptions) {
    return this.#data<GetPredictionAccuracyResponse>(PATHS.GetPredictionAccuracy, params, call);
  }

  /** GET /api/predictions/history: one page of predictions with outcomes, newest first. */
  getPredictionHistory(params: ModelParams<GetPredictionHistoryRequest>, call?: CallOptions) {
    return this.#data<GetPredictionHistoryResponse>(PATHS.GetPredictionHistory, params, call);
  }

  /** GET /api/predictions/comparison: the last `limit` predictions against what happened. */
  getPredictionComparison(params: ModelParams<GetPredictionComparisonRequest>, call?: CallOptions) {
    return this.#data<GetPredictionComparisonResponse>(PATHS.GetPredictionComparison, params, call);
  }

  // DriftService

  /** GET /api/drift/status: data and concept drift of one model, with its status. */
  getDriftStatus(params: ModelParams<GetDriftStatusRequest>, call?: CallOptions) {
    return this.#data<GetDriftStatusResponse>(PATHS.GetDriftStatus, params, call);
  }

  /** GET /api/drift/features: per-feature drift, most drifted first. */
  getDriftFeatures(params: ModelParams<GetDriftFeaturesRequest>, call?: CallOptions) {
    return this.#data<GetDriftFeaturesResponse>(PATHS.GetDriftFeatures, params, call);
  }

  // HealthService

  /** GET /health: service liveness and database connection (not wrapped in an envelope). */
  getServiceHealth(call?: CallOptions): Promise<GetServiceHealthResponse> {
    return this.#get(PATHS.GetServiceHealth, {}, call);
  }

  /** GET /: service information and the endpoint directory (not wrapped in an envelope). */
  getServiceInfo(call?: CallOptions): Promise<GetServiceInfoResponse> {
    return this.#get(PATHS.GetServiceInfo, {}, call);
  }

  /** GET /api/health/models: health of every model seen in the last 7 days. */
  listModelHealth(params: Params<ListModelHealthRequest> = {}, call?: CallOptions) {
    return this.#data<ListModelHealthResponse>(PATHS.ListModelHealth, params, call);
  }

  /** GET /api/health/model/{model_id}: health of one model. */
  getModelHealth(params: ModelParams<GetModelHealthRequest>, call?: CallOptions) {
    return this.#data<GetModelHealthResponse>(PATHS.GetModelHealth, params, call);
  }

  /** GET /api/performance/trends/{model_id}: hourly performance over `days`, with trends. */
  getPerformanceTrends(params: ModelParams<GetPerformanceTrendsRequest>, call?: CallOptions) {
    return this.#data<GetPerformanceTrendsResponse>(PATHS.GetPerformanceTrends, params, call);
  }

  /** GET /api/performance/comparison: every model version of the window, best win rate first. */
  getPerformanceComparison(params: Params<GetPerformanceComparisonRequest> = {}, call?: CallOptions) {
    return this.#data<GetPerformanceComparisonResponse>(PATHS.GetPerformanceComparison, params, call);
  }

  /**
   * GET /api/performance/ab: both models' metrics over the window (default 7d, unlike the other
   * calls) and a paired t-test of their per-bar rewards, with a `Verdict`.
   */
  compareModels(params: PairParams, call?: CallOptions) {
    return this.#data<CompareModelsResponse>(PATHS.CompareModels, params, call);
  }

  // ModelVersionService

  /** GET /api/models/{model_id}/versions: every version of the model, first seen first. */
  listModelVersions(params: ModelParams<ListModelVersionsRequest>, call?: CallOptions) {
    return this.#data<ListModelVersionsResponse>(PATHS.ListModelVersions, params, call);
  }

  /**
   * GET /api/models/{model_id}/versions/compare: the candidate (default: the current version)
   * against the baseline (default: the version before it), with a `VersionVerdict`.
   */
  compareModelVersions(params: ModelParams<CompareModelVersionsRequest>, call?: CallOptions) {
    return this.#data<CompareModelVersionsResponse>(PATHS.CompareModelVersions, params, call);
  }

  // AnomalyService

  /** GET /api/anomalies/{model_id}: change points and single-row anomalies (default window 7d). */
  getAnomalies(params: ModelParams<GetAnomaliesRequest>, call?: CallOptions) {
    return this.#data<GetAnomaliesResponse>(PATHS.GetAnomalies, params, call);
  }

  // Watch streams (Server-Sent Events)

  /** GET /api/health/models/watch: the model-health list now and on every change of a model's
   * status or issues; heartbeats at least every 15 s. Reconnects by itself; see `watch.ts`. */
  watchModelHealth(handlers: WatchHandlers<ModelHealthList>, options?: WatchOptions): Subscription {
    return this.#watch(PATHS.WatchModelHealth, {}, handlers, options);
  }

  /** GET /api/drift/watch: one model's drift report now and on every change of its status or
   * drifted features; heartbeats at least every 15 s. */
  watchDrift(
    params: ModelParams<WatchDriftRequest>,
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
  async #data<R extends { success: boolean; data?: unknown }>(
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
