/** The ML Analytics REST client and the types of its JSON, generated from protos/. */

export { AnalyticsClient } from "./client.js";
export type {
  CallOptions,
  ClientOptions,
  ModelParams,
  PairParams,
  Params,
  Verdict,
  Window,
} from "./client.js";
export { AnalyticsError, Code } from "./errors.js";
export type {
  EventSourceFactory,
  EventSourceLike,
  Heartbeat,
  Snapshot,
  SourceEvent,
  Subscription,
  WatchEvent,
  WatchHandlers,
  WatchOptions,
} from "./watch.js";
export type { FieldViolation, StatusBody } from "./errors.js";
export type * from "./gen/mlanalytics/v1/common.js";
export type * from "./gen/mlanalytics/v1/drift_service.js";
export type * from "./gen/mlanalytics/v1/health_service.js";
export type * from "./gen/mlanalytics/v1/performance_service.js";
export { PATHS } from "./gen/paths.js";
export type * from "./gen/mlanalytics/v1/metrics_service.js";
export type * from "./gen/mlanalytics/v1/prediction_service.js";
