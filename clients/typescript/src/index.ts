/** The ML Analytics REST client and the types of its JSON, generated from protos/. */

export { AnalyticsClient } from "./client.js";
export type { ClientOptions, Verdict, VersionVerdict } from "./client.js";
export type { CallOptions, Params, Window } from "./params.js";
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
export { PATHS } from "./gen/paths.js";
export type * from "./gen/types.js";
