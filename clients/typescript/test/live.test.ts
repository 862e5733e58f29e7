/**
 * Every documented path through a live Envoy with the demo data, at MLANALYTICS_URL
 * (tests/e2e/test_typescript_client.py starts one and runs this suite). Skipped without the URL.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { EventSource } from "eventsource";

import { AnalyticsClient, AnalyticsError, Code, type Snapshot, type Subscription, type WatchHandlers, type Window } from "../src/index.js";
import * as shapes from "./shapes.js";
import { assertShape } from "./shapes.js";

const url = process.env["MLANALYTICS_URL"];
const client = new AnalyticsClient({ baseUrl: url ?? "http://localhost:8004", eventSource: EventSource });

/** The first snapshot of a watch (then the subscription is closed). */
function firstSnapshot<T>(open: (handlers: WatchHandlers<T>) => Subscription): Promise<Snapshot<T>> {
  return new Promise((resolve, reject) => {
    const subscription = open({
      onSnapshot: (_data, event) => {
        subscription.close();
        resolve(event);
      },
      onError: (error) => {
        subscription.close();
        reject(error);
      },
    });
  });
}
const MODEL = "ppo_lstm_v3.2";
const COIN_FLIP = "a2c_conservative_v1.4";
const DEMO_MODELS = [
  "a2c_conservative_v1.4",
  "dqn_legacy_v0.9",
  "ppo_lstm_v3.2",
  "sac_transformer_v2.1",
  "td3_ensemble_v1.0",
];
const ACTIONS = ["LONG", "SHORT", "HOLD"];

/** One check per documented path template, the keys of the directory at GET /. */
const PATHS: Record<string, () => Promise<void>> = {
  "/api/metrics/summary": async () => {
    const data = await client.getMetricsSummary();
    assertShape(data, shapes.metricsSummary);
    assert.equal(data.window, "24h");
    assert.equal(data.total_models, DEMO_MODELS.length);
    assert.deepEqual(
      data.models.map((m) => m.model_id),
      DEMO_MODELS,
    );
  },
  "/api/metrics/rolling": async () => {
    const data = await client.getRollingMetrics({ model_id: MODEL, window: "7d" });
    assertShape(data, shapes.rollingMetrics);
    assert.equal(data.model_id, MODEL);
    assert.equal(data.window, "7d");
    assert.ok(data.data_points > 1000, `7 days of 5-minute bars, got ${data.data_points}`);
    assert.equal(data.data_points, data.resolved_predictions + data.pending_predictions);
    assert.ok(data.metrics && data.metrics.accuracy > 0 && data.metrics.accuracy <= 1);
    assert.deepEqual(
      data.predictions?.by_action.map((a) => a.action),
      ACTIONS,
    );
  },
  "/api/metrics/model/{model_id}": async () => {
    const data = await client.getModelMetrics({ model_id: MODEL, window: "1h" });
    assertShape(data, shapes.modelMetrics);
    assert.equal(data.rolling?.window, "1h");
    assert.equal(data.drift?.model_id, MODEL);
    assert.equal(data.accuracy?.window, "1h");
  },
  "/api/metrics/series": async () => {
    const data = await client.getMetricSeries({ model_id: MODEL, metric: "win_rate", step: "6h" });
    assertShape(data, shapes.metricSeries);
    assert.equal(data.step, "6h");
    assert.ok(data.points.length > 1);
    const rolling = await client.getRollingMetrics({ model_id: MODEL, end_time: data.points.at(-1)?.end_time });
    assert.equal(data.points.at(-1)?.data_points, rolling.data_points);
  },
  "/api/metrics/custom": async () => {
    const data = await client.getCustomMetrics({ model_id: MODEL });
    assertShape(data, shapes.customMetrics);
    assert.equal(data.model_id, MODEL);
  },
  "/api/metrics/custom/definitions": async () => {
    const data = await client.getCustomMetricDefinitions();
    assertShape(data, shapes.customMetricDefinitions);
  },
  "/api/predictions/accuracy": async () => {
    const data = await client.getPredictionAccuracy({ model_id: MODEL });
    assertShape(data, shapes.accuracyReport);
    assert.equal(data.window, "24h");
    assert.equal(data.correct_predictions + data.incorrect_predictions, data.resolved_predictions);
    assert.deepEqual(
      data.confusion_matrix.map((row) => row.predicted),
      ACTIONS,
    );
    const calibration = data.calibration;
    assert.ok(calibration && calibration.count > 0, "the demo's confidences are usable");
    assert.equal(calibration.count + calibration.excluded, data.resolved_predictions);
    assert.equal(
      calibration.reliability.reduce((sum, bin) => sum + bin.count, 0),
      calibration.count,
    );
  },
  "/api/predictions/history": async () => {
    const data = await client.getPredictionHistory({ model_id: MODEL, page: 2, page_size: 5 });
    assertShape(data, shapes.predictionHistory);
    assert.equal(data.page, 2);
    assert.equal(data.predictions.length, 5);
    assert.ok(data.total_pages > 2);
    const ids = data.predictions.map((p) => BigInt(p.inference_id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => (a < b ? 1 : -1)),
      "newest first",
    );
  },
  "/api/predictions/comparison": async () => {
    const data = await client.getPredictionComparison({ model_id: MODEL, limit: 3 });
    assertShape(data, shapes.predictionComparison);
    assert.equal(data.limit, 3);
    assert.equal(data.comparisons.length, 3);
  },
  "/api/drift/status": async () => {
    const data = await client.getDriftStatus({ model_id: "sac_transformer_v2.1" });
    assertShape(data, shapes.driftReport);
    assert.ok(["healthy", "warning", "critical", "unknown"].includes(data.status), data.status);
    assert.equal(data.feature_details.length, 13);
    assert.ok(data.features_drifted.length > 0, "the demo's broken pipeline shows");
  },
  "/api/drift/features": async () => {
    const data = await client.getDriftFeatures({ model_id: MODEL, window_hours: 12, baseline_days: 3 });
    assertShape(data, shapes.driftFeatures);
    assert.equal(data.window_hours, 12);
    assert.equal(data.baseline_days, 3);
    assert.equal(data.features.length, data.total_features);
  },
  "/health": async () => {
    const data = await client.getServiceHealth();
    assertShape(data, shapes.serviceHealth);
    assert.equal(data.status, "healthy");
    assert.equal(data.database, "connected");
  },
  "/": async () => {
    const data = await client.getServiceInfo();
    assertShape(data, shapes.serviceInfo);
    assert.ok(data.endpoints.every((e) => e.method === "GET"));
  },
  "/api/health/models": async () => {
    const data = await client.listModelHealth();
    assertShape(data, shapes.modelHealthList);
    assert.equal(data.total_models, DEMO_MODELS.length);
    const silent = data.models.find((m) => m.model_id === "dqn_legacy_v0.9");
    assert.equal(silent?.status, "critical", "the demo model that went silent");
  },
  "/api/health/model/{model_id}": async () => {
    const data = await client.getModelHealth({ model_id: MODEL });
    assertShape(data, shapes.modelHealth, "data");
    assert.equal(data.model_id, MODEL);
    assert.ok(data.health_score >= 0 && data.health_score <= 100);
  },
  "/api/performance/trends/{model_id}": async () => {
    const data = await client.getPerformanceTrends({ model_id: MODEL, days: 2 });
    assertShape(data, shapes.performanceTrends);
    assert.equal(data.days, 2);
    assert.ok(data.buckets.length >= 24, `hourly buckets, got ${data.buckets.length}`);
  },
  "/api/health/models/watch": async () => {
    const event = await firstSnapshot((handlers) => client.watchModelHealth(handlers));
    assert.equal(event.kind, "snapshot");
    assert.match(event.revision, /^[0-9a-f]{16}$/);
    assertShape(event.data, shapes.modelHealthList);
    assert.equal(event.data.total_models, DEMO_MODELS.length);
  },
  "/api/drift/watch": async () => {
    const event = await firstSnapshot((handlers) => client.watchDrift({ model_id: "sac_transformer_v2.1" }, handlers));
    assertShape(event.data, shapes.driftReport);
    assert.equal(event.data.status, "critical");
    assert.ok(event.data.features_drifted.length > 0);
  },
  "/metrics": async () => {
    const response = await fetch(`${client.baseUrl}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.match(await response.text(), /^mlanalytics_model_health_score\{model_id="ppo_lstm_v3\.2"\} /m);
  },
  "/api/performance/comparison": async () => {
    const data = await client.getPerformanceComparison({ window: "7d" });
    assertShape(data, shapes.performanceComparison);
    assert.equal(data.models.length, data.total_models);
    assert.ok(data.total_models >= DEMO_MODELS.length);
  },
  "/api/anomalies/{model_id}": async () => {
    // The demo's collapse: sac_transformer_v2.1's confidence falls to ~0.25 mid-session.
    const data = await client.getAnomalies({ model_id: "sac_transformer_v2.1" });
    assert.equal(data.model_id, "sac_transformer_v2.1");
    assert.equal(data.window, "7d", "this call's default window");
    assert.deepEqual(data.signals, ["confidence", "latency_ms", "reward", "action_raw", "hold_rate"]);
    const collapse = data.change_points.filter((c) => c.signal === "confidence");
    assert.equal(collapse.length, 1, JSON.stringify(data.change_points));
    assert.ok((collapse[0]?.shift ?? 0) < -2, JSON.stringify(collapse));
    assert.ok((collapse[0]?.after_mean ?? 1) < 0.3, JSON.stringify(collapse));
  },
  "/api/performance/ab": async () => {
    const week = await client.compareModels({ model_a: MODEL, model_b: COIN_FLIP });
    assertShape(week, shapes.modelAbComparison);
    assert.equal(week.window, "7d", "this call's default window");
    // A week rarely separates a Sharpe of 2 from a coin flip: the verdict follows the interval.
    assert.ok(week.common_bars >= 30);
    const ci = week.difference_ci95;
    assert.ok(ci, "a week of common bars has an interval");
    const expected = ci.lower > 0 ? "model_a" : ci.upper < 0 ? "model_b" : "no_significant_difference";
    assert.equal(week.verdict, expected, JSON.stringify(ci));
    const hour = await client.compareModels({ model_a: MODEL, model_b: COIN_FLIP, window: "1h" });
    assert.equal(hour.verdict, "insufficient_data");
    assert.ok(hour.common_bars <= 12, `an hour holds 12 bars, got ${hour.common_bars}`);
  },
  "/api/models/{model_id}/versions": async () => {
    const data = await client.listModelVersions({ model_id: MODEL });
    assertShape(data, shapes.modelVersions);
    assert.deepEqual(
      data.versions.map((v) => v.version),
      ["3.2.0", "3.2.1", "3.3.0"],
      "3.2.1 replaced 3.2.0; the canary 3.3.0 runs beside it",
    );
    assert.equal(data.current_version, "3.2.1");
  },
  "/api/models/{model_id}/versions/compare": async () => {
    const data = await client.compareModelVersions({ model_id: MODEL });
    assertShape(data, shapes.modelVersionComparison);
    assert.equal(data.baseline?.version, "3.2.0");
    assert.equal(data.candidate?.version, "3.2.1");
    assert.equal(data.method, "welch", "3.2.0 stopped when 3.2.1 started");
    assert.ok(["rollback", "candidate_better", "no_significant_difference"].includes(data.verdict));
    const canary = await client.compareModelVersions({ model_id: MODEL, candidate: "3.3.0" });
    assert.equal(canary.method, "paired");
    assert.equal(canary.baseline?.version, "3.2.1");
    const worse = await client.compareModelVersions({ model_id: "td3_ensemble_v1.0" });
    assert.equal(worse.verdict, "rollback", "td3's version 1.0.3 trades worse");
    assert.ok(worse.mean_difference !== undefined && worse.mean_difference < 0);
    const single = await client.compareModelVersions({ model_id: COIN_FLIP });
    assert.equal(single.verdict, "insufficient_data");
    assert.equal(single.baseline, undefined);
  },
};

/** Assert that `call()` rejects with an AnalyticsError of this HTTP status and gRPC code. */
async function rejects(call: () => Promise<unknown>, status: number, code: number): Promise<AnalyticsError> {
  const error = await call().then(
    () => assert.fail("expected an AnalyticsError"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AnalyticsError, `expected an AnalyticsError, got ${String(error)}`);
  assert.equal(error.status, status, error.message);
  assert.equal(error.code, code, error.message);
  return error;
}

describe("every documented path", { skip: url ? false : "MLANALYTICS_URL is not set" }, () => {
  it("the directory at / lists exactly the paths tested here", async () => {
    const info = await client.getServiceInfo();
    // The documentation pages (DocsService: HTML, scripts, the OpenAPI document) are not JSON API.
    const api = info.endpoints.filter((e) => !e.rpc.startsWith("mlanalytics.v1.DocsService/"));
    assert.deepEqual(api.map((e) => e.path).sort(), Object.keys(PATHS).sort());
  });

  for (const [path, check] of Object.entries(PATHS)) {
    it(`GET ${path}`, check);
  }
});

describe("errors", { skip: url ? false : "MLANALYTICS_URL is not set" }, () => {
  it("400 from the service names the parameter in a field violation", async () => {
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => client.getRollingMetrics({ model_id: MODEL, window: "2h" as Window }), "window"],
      [() => client.getDriftFeatures({ model_id: MODEL, window_hours: 0 }), "window_hours"],
      [() => client.getPredictionHistory({ model_id: MODEL, page_size: 1001 }), "page_size"],
      [() => client.getPerformanceTrends({ model_id: MODEL, days: 31 }), "days"],
      [() => client.getMetricsSummary({ end_time: "yesterday" }), "end_time"],
      [() => client.getPredictionAccuracy({ model_id: "" }), "model_id"],
      [() => client.compareModels({ model_a: MODEL, model_b: MODEL }), "model_b"],
      [() => client.compareModels({ model_a: "", model_b: MODEL }), "model_a"],
    ];
    for (const [call, field] of cases) {
      const error = await rejects(call, 400, Code.INVALID_ARGUMENT);
      assert.deepEqual(
        error.fieldViolations.map((v) => v.field),
        [field],
      );
      assert.match(error.fieldViolations[0]?.description ?? "", /\S/);
      assert.match(error.message, new RegExp(field));
    }
  });

  it("400 from Envoy (a value of the wrong type) names the parameter in its message", async () => {
    const page = "two" as unknown as number;
    const error = await rejects(
      () => client.getPredictionHistory({ model_id: MODEL, page }),
      400,
      Code.INVALID_ARGUMENT,
    );
    assert.match(error.message, /page/);
    assert.deepEqual(error.fieldViolations, []);
  });

  it("404 for an unknown model, on query and path parameters alike", async () => {
    for (const call of [
      () => client.getRollingMetrics({ model_id: "no_such_model" }),
      () => client.getModelMetrics({ model_id: "no_such_model" }),
      () => client.getModelHealth({ model_id: "no_such_model" }),
      () => client.getDriftStatus({ model_id: "no_such_model" }),
      () => client.compareModels({ model_a: MODEL, model_b: "no_such_model" }),
    ]) {
      const error = await rejects(call, 404, Code.NOT_FOUND);
      assert.match(error.message, /no_such_model/);
    }
  });

  it("a watch of an unknown model ends with the 404 JSON error, without retrying", async () => {
    const error = await firstSnapshot((handlers) => client.watchDrift({ model_id: "no_such_model" }, handlers)).then(
      () => assert.fail("expected an AnalyticsError"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AnalyticsError);
    assert.equal(error.status, 404);
    assert.equal(error.code, Code.NOT_FOUND);
    assert.match(error.message, /no_such_model/);
  });

  it("404 for an unknown path", async () => {
    const elsewhere = new AnalyticsClient({ baseUrl: `${url}/no/such/prefix` });
    const error = await rejects(() => elsewhere.getServiceHealth(), 404, Code.NOT_FOUND);
    assert.match(error.url, /\/no\/such\/prefix\/health$/);
  });

  it("parameters reach the service as given: spaces, slashes and plus signs", async () => {
    const id = "a b/c+d";
    for (const call of [
      () => client.getRollingMetrics({ model_id: id }),
      () => client.getModelHealth({ model_id: id }),
    ]) {
      const error = await rejects(call, 404, Code.NOT_FOUND);
      assert.match(error.message, /'a b\/c\+d'/);
    }
  });

  it("a Date end_time is sent as RFC 3339; zeros and empty lists are printed", async () => {
    const data = await client.getMetricsSummary({ end_time: new Date("2020-01-01T00:00:00+05:00") });
    assert.equal(data.end_time, "2019-12-31T19:00:00Z");
    assert.equal(data.total_models, 0);
    assert.deepEqual(data.models, []);
    assert.deepEqual(data.aggregate, {
      models_with_data: 0,
      total_predictions: 0,
      avg_accuracy: 0,
      avg_sharpe_ratio: 0,
      avg_win_rate: 0,
    });
  });
});
