/**
 * Runtime shapes of the generated interfaces, to check live JSON against them.
 *
 * `Shape<T>` makes the compiler demand one entry per property of the generated interface T: a
 * leaf kind for scalars, `[spec]` for arrays, a nested shape for messages, and `maybe(...)` exactly
 * for the properties the interface marks optional. `assertShape` then checks a JSON value against
 * it: no key the interface lacks, every required key present, every value of its kind. Together
 * they tie what ts-proto generated to what Envoy sends.
 */

import assert from "node:assert/strict";

import type {
  AbSide,
  AccuracyReport,
  ActionBreakdown,
  ConfidenceCalibration,
  ConfidenceInterval,
  ConceptDrift,
  ConfusionMatrixRow,
  CustomMetricCondition,
  CustomMetricDefinition,
  CustomMetricDefinitions,
  CustomMetricValue,
  CustomMetrics,
  MetricPoint,
  MetricSeries,
  DriftFeatures,
  DriftReport,
  DriftWindow,
  Endpoint,
  FeatureDrift,
  GetServiceHealthResponse,
  GetServiceInfoResponse,
  HealthScoreBreakdown,
  HourWinRate,
  MetricsSummary,
  ModelComparison,
  MarketState,
  ModelHealth,
  ModelHealthList,
  ModelAbComparison,
  ModelMetrics,
  ModelVersion,
  ModelVersionComparison,
  ModelVersions,
  PageSummary,
  PerformanceComparison,
  PerformanceMetrics,
  PerformanceTrends,
  PredictionComparison,
  PredictionCounts,
  PredictionHistory,
  PredictionRecord,
  ComparisonEntry,
  ReliabilityBin,
  RollingMetrics,
  SummaryAggregate,
  TrendBucket,
  TrendSummary,
  VersionBars,
} from "../src/index.js";

const MAYBE = Symbol("maybe");
interface Maybe<S> {
  readonly [MAYBE]: S;
}
/** A property the interface marks optional (`?:`): absent from the JSON when unset. */
const maybe = <S>(spec: S): Maybe<S> => ({ [MAYBE]: spec });

/** int32: a JSON number that is an integer; int64: a JSON string of digits; timestamp: RFC 3339. */
type Spec<V> = V extends string
  ? "string" | "int64" | "timestamp"
  : V extends number
    ? "double" | "int32"
    : V extends boolean
      ? "bool"
      : V extends readonly (infer E)[]
        ? readonly [Spec<E>]
        : V extends object
          ? Shape<V>
          : never;

export type Shape<T> = {
  readonly [K in keyof T]-?: undefined extends T[K] ? Maybe<Spec<Exclude<T[K], undefined>>> : Spec<T[K]>;
};

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

/** Assert that `value` is JSON of the interface `spec` describes. */
export function assertShape<T>(value: unknown, spec: Shape<T>, path = "data"): asserts value is T {
  check(value, spec, path);
}

function check(value: unknown, spec: unknown, path: string): void {
  const got = `got ${JSON.stringify(value)}`;
  switch (spec) {
    case "string":
      return assert.equal(typeof value, "string", `${path}: a string, ${got}`);
    case "int64":
      return assert.ok(typeof value === "string" && /^-?\d+$/.test(value), `${path}: an int64 string, ${got}`);
    case "timestamp":
      return assert.ok(typeof value === "string" && RFC3339.test(value), `${path}: RFC 3339, ${got}`);
    case "double":
      return assert.ok(typeof value === "number" && Number.isFinite(value), `${path}: a number, ${got}`);
    case "int32":
      return assert.ok(Number.isInteger(value), `${path}: an integer, ${got}`);
    case "bool":
      return assert.equal(typeof value, "boolean", `${path}: a boolean, ${got}`);
  }
  if (Array.isArray(spec)) {
    assert.ok(Array.isArray(value), `${path}: an array, ${got}`);
    value.forEach((item, i) => check(item, spec[0], `${path}[${i}]`));
    return;
  }
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  assert.ok(isObject, `${path}: an object, ${got}`);
  const fields = spec as Record<string, unknown>;
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    assert.ok(Object.hasOwn(fields, key), `${path}.${key}: sent by Envoy but not in the generated interface`);
  }
  for (const [key, field] of Object.entries(fields)) {
    const optional = typeof field === "object" && field !== null && MAYBE in field;
    if (!Object.hasOwn(object, key)) {
      assert.ok(optional, `${path}.${key}: required by the generated interface but absent`);
      continue;
    }
    check(object[key], optional ? (field as Maybe<unknown>)[MAYBE] : field, `${path}.${key}`);
  }
}

// One shape per message of the REST responses, in the order of the protos.

const actionBreakdown: Shape<ActionBreakdown> = {
  action: "string",
  count: "int32",
  resolved: "int32",
  correct: "int32",
  avg_confidence: "double",
  success_rate: "double",
  avg_reward: maybe("double"),
  precision: "double",
  recall: "double",
  f1_score: "double",
  support: "int32",
};

const confusionMatrixRow: Shape<ConfusionMatrixRow> = {
  predicted: "string",
  actual_long: "int32",
  actual_short: "int32",
  actual_hold: "int32",
};

/** The scores of the classification report, in both PerformanceMetrics and AccuracyReport. */
const classificationScores: Shape<
  Pick<PerformanceMetrics & AccuracyReport, "accuracy" | "precision" | "recall" | "f1_score" | "mse" | "mae">
> = {
  accuracy: "double",
  precision: "double",
  recall: "double",
  f1_score: "double",
  mse: "double",
  mae: "double",
};

const performanceMetrics: Shape<PerformanceMetrics> = {
  ...classificationScores,
  sharpe_ratio: "double",
  sortino_ratio: "double",
  profit_factor: maybe("double"),
  win_rate: "double",
  max_drawdown: "double",
  total_return: "double",
  avg_return: "double",
  std_return: "double",
  reward_count: "int32",
  avg_latency_ms: maybe("double"),
  p50_latency_ms: maybe("double"),
  p95_latency_ms: maybe("double"),
  p99_latency_ms: maybe("double"),
  calmar_ratio: maybe("double"),
  var_95: maybe("double"),
  cvar_95: maybe("double"),
  tail_ratio: maybe("double"),
  probabilistic_sharpe: maybe("double"),
};

const predictionCounts: Shape<PredictionCounts> = {
  total: "int32",
  correct: "int32",
  incorrect: "int32",
  pending: "int32",
  by_action: [actionBreakdown],
};

export const rollingMetrics: Shape<RollingMetrics> = {
  model_id: "string",
  model_version: "string",
  window: "string",
  start_time: maybe("timestamp"),
  end_time: maybe("timestamp"),
  data_points: "int32",
  resolved_predictions: "int32",
  pending_predictions: "int32",
  hold_band: "double",
  metrics: maybe(performanceMetrics),
  predictions: maybe(predictionCounts),
};

export const accuracyReport: Shape<AccuracyReport> = {
  model_id: "string",
  window: "string",
  start_time: maybe("timestamp"),
  end_time: maybe("timestamp"),
  hold_band: "double",
  total_predictions: "int32",
  resolved_predictions: "int32",
  correct_predictions: "int32",
  incorrect_predictions: "int32",
  pending_predictions: "int32",
  ...classificationScores,
  by_action: [actionBreakdown],
  confusion_matrix: [confusionMatrixRow],
  calibration: maybe<Shape<ConfidenceCalibration>>({
    brier_score: maybe("double"),
    expected_calibration_error: maybe("double"),
    reliability: [
      {
        lower: "double",
        upper: "double",
        count: "int32",
        mean_confidence: "double",
        accuracy: "double",
      } satisfies Shape<ReliabilityBin>,
    ],
    count: "int32",
    excluded: "int32",
  }),
};

const featureDrift: Shape<FeatureDrift> = {
  feature: "string",
  status: "string",
  reason: maybe("string"),
  recent_count: "int32",
  baseline_count: "int32",
  drift_score: maybe("double"),
  ks_statistic: maybe("double"),
  p_value: maybe("double"),
  psi: maybe("double"),
  wasserstein: maybe("double"),
  recent_mean: maybe("double"),
  baseline_mean: maybe("double"),
  recent_std: maybe("double"),
  baseline_std: maybe("double"),
  mean_change: maybe("double"),
  is_drifted: "bool",
};

const driftWindow: Shape<DriftWindow> = {
  start_time: maybe("timestamp"),
  end_time: maybe("timestamp"),
  predictions: "int32",
  resolved: "int32",
};

const conceptDrift: Shape<ConceptDrift> = {
  score: maybe("double"),
  recent_accuracy: maybe("double"),
  baseline_accuracy: maybe("double"),
  reason: maybe("string"),
};

export const driftReport: Shape<DriftReport> = {
  model_id: "string",
  status: "string",
  reason: maybe("string"),
  data_drift_score: "double",
  max_feature_drift: "double",
  concept_drift_score: maybe("double"),
  features_drifted: ["string"],
  feature_details: [featureDrift],
  concept_drift: maybe(conceptDrift),
  recent: maybe(driftWindow),
  baseline: maybe(driftWindow),
  window_hours: "int32",
  baseline_days: "int32",
  features_checked: "int32",
  warning_threshold: "double",
  critical_threshold: "double",
  last_check: maybe("timestamp"),
};

const healthScoreBreakdown: Shape<HealthScoreBreakdown> = {
  win_points: "double",
  latency_points: "int32",
  recency_points: "int32",
};

const marketState: Shape<MarketState> = {
  calendar: "string",
  open: "bool",
  last_close: maybe("timestamp"),
  next_open: maybe("timestamp"),
};

export const modelHealth: Shape<ModelHealth> = {
  model_id: "string",
  model_version: "string",
  status: "string",
  health_score: "double",
  score_breakdown: maybe(healthScoreBreakdown),
  prediction_count: "int32",
  win_rate: "double",
  avg_latency_ms: maybe("double"),
  last_prediction: maybe("timestamp"),
  minutes_since_last: maybe("double"),
  issues: ["string"],
  market_minutes_since_last: maybe("double"),
  window_start: maybe("timestamp"),
  market: maybe(marketState),
};

export const metricsSummary: Shape<MetricsSummary> = {
  window: "string",
  end_time: maybe("timestamp"),
  total_models: "int32",
  active_models: "int32",
  aggregate: maybe<Shape<SummaryAggregate>>({
    models_with_data: "int32",
    total_predictions: "int32",
    avg_accuracy: "double",
    avg_sharpe_ratio: "double",
    avg_win_rate: "double",
  }),
  models: [rollingMetrics],
};

export const modelMetrics: Shape<ModelMetrics> = {
  model_id: "string",
  window: "string",
  rolling: maybe(rollingMetrics),
  drift: maybe(driftReport),
  accuracy: maybe(accuracyReport),
};

const predictionRecord: Shape<PredictionRecord> = {
  inference_id: "int64",
  timestamp: maybe("timestamp"),
  model_version: "string",
  fold_id: maybe("int32"),
  symbol: "string",
  action: "string",
  action_raw: maybe("double"),
  confidence: maybe("double"),
  close_price: maybe("double"),
  position_before: maybe("double"),
  position_after: maybe("double"),
  reward: maybe("double"),
  latency_ms: maybe("int32"),
  status: "string",
  actual_return: maybe("double"),
  actual_action: maybe("string"),
  was_correct: maybe("bool"),
  was_profitable: maybe("bool"),
};

export const predictionHistory: Shape<PredictionHistory> = {
  model_id: "string",
  start_time: maybe("timestamp"),
  end_time: maybe("timestamp"),
  page: "int32",
  page_size: "int32",
  total: "int32",
  total_pages: "int32",
  predictions: [predictionRecord],
  page_summary: maybe<Shape<PageSummary>>({
    count: "int32",
    resolved: "int32",
    correct: "int32",
    accuracy: "double",
    avg_confidence: "double",
    avg_reward: maybe("double"),
    avg_latency_ms: maybe("double"),
  }),
};

const comparisonEntry: Shape<ComparisonEntry> = {
  inference_id: "int64",
  timestamp: maybe("timestamp"),
  predicted_action: "string",
  actual_action: maybe("string"),
  action_raw: maybe("double"),
  confidence: maybe("double"),
  ideal_signal: maybe("int32"),
  signal_error: maybe("double"),
  actual_return: maybe("double"),
  was_correct: maybe("bool"),
  status: "string",
};

export const predictionComparison: Shape<PredictionComparison> = {
  model_id: "string",
  limit: "int32",
  end_time: maybe("timestamp"),
  count: "int32",
  resolved: "int32",
  correct: "int32",
  accuracy: "double",
  mean_abs_signal_error: maybe("double"),
  comparisons: [comparisonEntry],
};

export const driftFeatures: Shape<DriftFeatures> = {
  model_id: "string",
  overall_status: "string",
  reason: maybe("string"),
  total_features: "int32",
  drifted_count: "int32",
  checked_count: "int32",
  features: [featureDrift],
  recent: maybe(driftWindow),
  baseline: maybe(driftWindow),
  window_hours: "int32",
  baseline_days: "int32",
  warning_threshold: "double",
  last_check: maybe("timestamp"),
};

export const serviceHealth: Shape<GetServiceHealthResponse> = {
  service: "string",
  version: "string",
  status: "string",
  database: "string",
  timestamp: maybe("timestamp"),
};

export const serviceInfo: Shape<GetServiceInfoResponse> = {
  service: "string",
  version: "string",
  description: "string",
  endpoints: [
    {
      method: "string",
      path: "string",
      rpc: "string",
      query_parameters: ["string"],
    } satisfies Shape<Endpoint>,
  ],
  timestamp: maybe("timestamp"),
};

export const modelHealthList: Shape<ModelHealthList> = {
  end_time: maybe("timestamp"),
  total_models: "int32",
  healthy_models: "int32",
  warning_models: "int32",
  critical_models: "int32",
  models: [modelHealth],
  window_start: maybe("timestamp"),
  market: maybe(marketState),
};

const hourWinRate: Shape<HourWinRate> = { hour: maybe("timestamp"), win_rate: "double" };

export const performanceTrends: Shape<PerformanceTrends> = {
  model_id: "string",
  days: "int32",
  start_time: maybe("timestamp"),
  end_time: maybe("timestamp"),
  buckets: [
    {
      hour: maybe("timestamp"),
      predictions: "int32",
      win_rate: "double",
      avg_reward: "double",
      total_reward: "double",
      avg_latency_ms: maybe("double"),
      win_rate_ma: "double",
    } satisfies Shape<TrendBucket>,
  ],
  summary: maybe<Shape<TrendSummary>>({
    total_predictions: "int32",
    hours_with_data: "int32",
    win_rate_slope: "double",
    win_rate_trend: "string",
    reward_slope: "double",
    reward_trend: "string",
    best_hour: maybe(hourWinRate),
    worst_hour: maybe(hourWinRate),
  }),
};

export const performanceComparison: Shape<PerformanceComparison> = {
  window: "string",
  start_time: maybe("timestamp"),
  end_time: maybe("timestamp"),
  total_models: "int32",
  models: [
    {
      model_id: "string",
      model_version: "string",
      predictions: "int32",
      win_rate: "double",
      avg_reward: "double",
      std_reward: "double",
      total_reward: "double",
      avg_latency_ms: maybe("double"),
      max_abs_reward: "double",
      sharpe_ratio: "double",
    } satisfies Shape<ModelComparison>,
  ],
};

const abSide: Shape<AbSide> = {
  model_id: "string",
  model_version: "string",
  data_points: "int32",
  probabilistic_sharpe: maybe("double"),
  metrics: maybe(performanceMetrics),
};

export const modelAbComparison: Shape<ModelAbComparison> = {
  verdict: "string",
  window: "string",
  start_time: maybe("timestamp"),
  end_time: maybe("timestamp"),
  hold_band: "double",
  model_a: maybe(abSide),
  model_b: maybe(abSide),
  common_bars: "int32",
  mean_difference: maybe("double"),
  difference_ci95: maybe<Shape<ConfidenceInterval>>({ lower: "double", upper: "double" }),
  p_value: maybe("double"),
  min_common_bars: "int32",
  significance_level: "double",
};

const metricPoint: Shape<MetricPoint> = {
  end_time: maybe("timestamp"),
  value: maybe("double"),
  data_points: "int32",
};

export const metricSeries: Shape<MetricSeries> = {
  model_id: "string",
  metric: "string",
  window: "string",
  step: "string",
  start_time: maybe("timestamp"),
  end_time: maybe("timestamp"),
  points: [metricPoint],
};

const customMetricValue: Shape<CustomMetricValue> = {
  name: "string",
  value: maybe("double"),
  rows: "int32",
  unit: "string",
  better: "string",
  status: "string",
};

export const customMetrics: Shape<CustomMetrics> = {
  model_id: "string",
  window: "string",
  start_time: maybe("timestamp"),
  end_time: maybe("timestamp"),
  data_points: "int32",
  metrics: [customMetricValue],
};

const customMetricCondition: Shape<CustomMetricCondition> = {
  field: "string",
  op: "string",
  values: ["string"],
};

const customMetricDefinition: Shape<CustomMetricDefinition> = {
  name: "string",
  description: "string",
  aggregate: "string",
  of: "string",
  q: maybe("double"),
  where: [customMetricCondition],
  unit: "string",
  better: "string",
  warning: maybe("double"),
  critical: maybe("double"),
};

export const customMetricDefinitions: Shape<CustomMetricDefinitions> = {
  metrics: [customMetricDefinition],
};

const modelVersion: Shape<ModelVersion> = {
  version: "string",
  first_seen: maybe("timestamp"),
  last_seen: maybe("timestamp"),
  predictions: "int32",
  trades: "int32",
  total_reward: "double",
  win_rate: "double",
  sharpe_ratio: "double",
  avg_latency_ms: maybe("double"),
};

export const modelVersions: Shape<ModelVersions> = {
  model_id: "string",
  current_version: "string",
  end_time: maybe("timestamp"),
  versions: [modelVersion],
};

const versionBars: Shape<VersionBars> = {
  version: "string",
  data_points: "int32",
  mean_reward: maybe("double"),
  sharpe_ratio: "double",
  win_rate: "double",
  first_seen: maybe("timestamp"),
};

export const modelVersionComparison: Shape<ModelVersionComparison> = {
  model_id: "string",
  method: "string",
  baseline: maybe(versionBars),
  candidate: maybe(versionBars),
  common_bars: "int32",
  mean_difference: maybe("double"),
  difference_ci95: maybe<Shape<ConfidenceInterval>>({ lower: "double", upper: "double" }),
  p_value: maybe("double"),
  min_bars: "int32",
  significance_level: "double",
  verdict: "string",
  baseline_days: "int32",
  end_time: maybe("timestamp"),
  baseline_start: maybe("timestamp"),
};
