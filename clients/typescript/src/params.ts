/** The parameters of a call: a request message's fields as REST query parameters. */

/** A metrics window. */
export type Window = "1h" | "24h" | "7d" | "30d";

type Value<R, K extends keyof R> = K extends "window"
  ? Window
  : K extends `${string}_time`
    ? string | Date
    : R[K];

/**
 * The query parameters of a request message `R`: the `Required` ones (declared required in the
 * protos) must be given, the others may; times as RFC 3339 strings or Dates.
 */
export type Params<R, Required extends keyof R = never> = {
  [K in Exclude<keyof R, Required>]?: Value<R, K>;
} & { [K in Required]: Value<R, K> };

export interface CallOptions {
  /** Cancels the call; the fetch's AbortError is rethrown as it is. */
  signal?: AbortSignal;
  /** This call's deadline instead of the client's. */
  timeoutMs?: number;
}
