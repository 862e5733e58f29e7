/** Watch subscriptions without a service: a scripted EventSource stands in for the stream. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  AnalyticsClient,
  AnalyticsError,
  Code,
  type EventSourceLike,
  type ModelHealthList,
  type SourceEvent,
} from "../src/index.js";

type Listener = (event: SourceEvent) => void;

/** An EventSource whose events the test emits. */
class ScriptedSource implements EventSourceLike {
  static opened: ScriptedSource[] = [];
  readyState = 0;
  readonly #listeners: Record<string, Listener[]> = { message: [], error: [] };

  constructor(readonly url: string) {
    ScriptedSource.opened.push(this);
  }

  addEventListener(type: "message" | "error", listener: Listener): void {
    this.#listeners[type]?.push(listener);
  }

  close(): void {
    this.readyState = 2;
  }

  send(message: object): void {
    this.readyState = 1;
    for (const listener of this.#listeners["message"] ?? []) listener({ data: JSON.stringify(message) });
  }

  fail(code: number | undefined, closed: boolean): void {
    this.readyState = closed ? 2 : 0;
    for (const listener of this.#listeners["error"] ?? []) listener({ code, message: "scripted" });
  }
}

const snapshot = (revision: string, total_models: number) => ({
  success: true,
  kind: "snapshot",
  revision,
  timestamp: "2026-03-02T12:00:00Z",
  data: { total_models, models: [] },
});
const heartbeat = (revision: string) => ({ success: true, kind: "heartbeat", revision, timestamp: "2026-03-02T12:00:01Z" });

/** Resolves once `predicate()` holds (the reconnection runs on a timer). */
async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !predicate(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(predicate(), "condition not reached");
}

function client(fetch?: typeof globalThis.fetch) {
  ScriptedSource.opened = [];
  return new AnalyticsClient({ baseUrl: "http://analytics.test:8004", eventSource: ScriptedSource, ...(fetch ? { fetch } : {}) });
}

describe("watch subscriptions", () => {
  it("opens the documented URL and delivers snapshots and heartbeats, typed", () => {
    const seen: Array<[string, number | string]> = [];
    const subscription = client().watchDrift(
      { model_id: "a b", window_hours: 12 },
      { onSnapshot: (data) => seen.push(["snapshot", data.model_id]), onHeartbeat: (e) => seen.push(["heartbeat", e.revision]) },
    );
    const [source] = ScriptedSource.opened;
    assert.equal(source?.url, "http://analytics.test:8004/api/drift/watch?model_id=a%20b&window_hours=12");
    source.send({ ...snapshot("r1", 0), data: { model_id: "a b" } });
    source.send(heartbeat("r1"));
    assert.deepEqual(seen, [["snapshot", "a b"], ["heartbeat", "r1"]]);
    subscription.close();
    assert.equal(source.readyState, 2);
  });

  it("resumes after a broken stream without repeating the last snapshot", async () => {
    const totals: number[] = [];
    const errors: Array<[number, boolean]> = [];
    const subscription = client().watchModelHealth(
      { onSnapshot: (data: ModelHealthList) => totals.push(data.total_models), onError: (e, retrying) => errors.push([e.code, retrying]) },
      { maxBackoffMs: 20 },
    );
    ScriptedSource.opened[0]?.send(snapshot("r1", 1));
    ScriptedSource.opened[0]?.fail(503, true); // e.g. the server restarting behind Envoy
    assert.deepEqual(errors, [[Code.UNAVAILABLE, true]]);
    await until(() => ScriptedSource.opened.length === 2);
    const again = ScriptedSource.opened[1];
    again?.send(snapshot("r1", 1)); // the same state: not delivered again
    again?.send(snapshot("r2", 2));
    assert.deepEqual(totals, [1, 2]);
    subscription.close();
  });

  it("reconnects a stream that went silent past the idle timeout", async () => {
    const subscription = client().watchModelHealth({ onSnapshot: () => {} }, { idleTimeoutMs: 30, maxBackoffMs: 10 });
    ScriptedSource.opened[0]?.send(snapshot("r1", 1));
    await until(() => ScriptedSource.opened.length === 2);
    assert.equal(ScriptedSource.opened[0]?.readyState, 2);
    subscription.close();
  });

  it("ends with the service's JSON error when the request is refused", async () => {
    const body = { code: 5, message: "model 'nobody' not found: it has no rows in the inference log", details: [] };
    const fetch = async () => new Response(JSON.stringify(body), { status: 404, headers: { "content-type": "application/json" } });
    const errors: Array<[AnalyticsError, boolean]> = [];
    const subscription = client(fetch).watchDrift(
      { model_id: "nobody" },
      { onSnapshot: () => assert.fail("no snapshot"), onError: (e, retrying) => errors.push([e, retrying]) },
    );
    ScriptedSource.opened[0]?.fail(404, true);
    await until(() => errors.length === 1);
    const [[error, retrying]] = errors as [[AnalyticsError, boolean]];
    assert.equal(retrying, false);
    assert.equal(error.code, Code.NOT_FOUND);
    assert.match(error.message, /nobody/);
    assert.equal(subscription.closed, true);
    assert.equal(ScriptedSource.opened.length, 1, "no reconnection");
  });

  it("needs an EventSource", () => {
    const bare = new AnalyticsClient({ eventSource: undefined });
    if ((globalThis as { EventSource?: unknown }).EventSource === undefined) {
      assert.throws(() => bare.watchModelHealth({ onSnapshot: () => {} }), /no EventSource/);
    }
  });
});
