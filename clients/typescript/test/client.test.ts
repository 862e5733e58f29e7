/** The client without a service: URLs, envelopes, error mapping, deadlines. */

import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";

import { AnalyticsClient, AnalyticsError, Code } from "../src/index.js";

/** A client whose fetch records the URL and answers with `respond()`. */
function fake(respond: () => Response, baseUrl = "http://analytics.test:8004/") {
  const urls: string[] = [];
  const client = new AnalyticsClient({
    baseUrl,
    fetch: async (input) => {
      urls.push(String(input));
      return respond();
    },
  });
  return { client, urls };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const envelope = (data: unknown) => json({ success: true, data, timestamp: "2026-03-02T12:00:00Z" });

async function caught(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => assert.fail("expected a rejection"),
    (error: unknown) => error,
  );
}

describe("requests", () => {
  it("builds the documented URL: path parameters encoded, unset parameters left out", async () => {
    const { client, urls } = fake(() => envelope({}));
    await client.getModelMetrics({ model_id: "ppo/v3 2", window: "7d", end_time: undefined });
    await client.getPredictionHistory({ model_id: "m", page: 2, page_size: 50 });
    const end_time = new Date(Date.UTC(2026, 2, 2, 12));
    await client.getDriftFeatures({ model_id: "m+1", window_hours: 6, end_time });
    await client.getMetricsSummary();
    await client.compareModels({ model_a: "ppo v3", model_b: "a2c", window: "30d" });
    await client.compareModelVersions({ model_id: "ppo v3", candidate: "3.2.1", baseline_days: 3 });
    await client.listModelVersions({ model_id: "m" });
    await client.getAnomalies({ model_id: "sac v2", window: "24h" });
    assert.deepEqual(urls, [
      "http://analytics.test:8004/api/metrics/model/ppo%2Fv3%202?window=7d",
      "http://analytics.test:8004/api/predictions/history?model_id=m&page=2&page_size=50",
      "http://analytics.test:8004/api/drift/features" +
        "?model_id=m%2B1&window_hours=6&end_time=2026-03-02T12%3A00%3A00.000Z",
      "http://analytics.test:8004/api/metrics/summary",
      "http://analytics.test:8004/api/performance/ab?model_a=ppo%20v3&model_b=a2c&window=30d",
      "http://analytics.test:8004/api/models/ppo%20v3/versions/compare?candidate=3.2.1&baseline_days=3",
      "http://analytics.test:8004/api/models/m/versions",
      "http://analytics.test:8004/api/anomalies/sac%20v2?window=24h",
    ]);
  });

  it("keeps a path prefix of the base URL", async () => {
    const { client, urls } = fake(() => json({ status: "healthy" }), "https://gateway.test/analytics//");
    await client.getServiceHealth();
    await client.getServiceInfo();
    assert.deepEqual(urls, ["https://gateway.test/analytics/health", "https://gateway.test/analytics/"]);
  });

  it("returns the envelope's data, and /health's body as it is", async () => {
    const { client } = fake(() => envelope({ model_id: "m", data_points: 0 }));
    assert.deepEqual(await client.getRollingMetrics({ model_id: "m" }), { model_id: "m", data_points: 0 });
    const health = fake(() => json({ service: "s", status: "healthy" })).client;
    assert.deepEqual(await health.getServiceHealth(), { service: "s", status: "healthy" });
  });
});

describe("errors", () => {
  it("carries the status body: code, message and BadRequest field violations", async () => {
    const body = {
      code: 3,
      message: "invalid request: window: must be one of 1h, 24h, 7d, 30d (got '2h')",
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.BadRequest",
          field_violations: [{ field: "window", description: "must be one of 1h, 24h, 7d, 30d", reason: "" }],
        },
      ],
    };
    const { client } = fake(() => json(body, 400));
    const error = await caught(client.getRollingMetrics({ model_id: "m" }));
    assert.ok(error instanceof AnalyticsError);
    assert.equal(error.name, "AnalyticsError");
    assert.equal(error.status, 400);
    assert.equal(error.code, Code.INVALID_ARGUMENT);
    assert.equal(error.message, body.message);
    assert.deepEqual(error.fieldViolations, [
      { field: "window", description: "must be one of 1h, 24h, 7d, 30d" },
    ]);
    assert.deepEqual(error.details, body.details);
    assert.equal(error.url, "http://analytics.test:8004/api/metrics/rolling?model_id=m");
  });

  it("derives the code from the HTTP status when the body is not a status", async () => {
    const cases: Array<[number, string, number]> = [
      [503, "upstream connect error or disconnect/reset before headers", Code.UNAVAILABLE],
      [504, "upstream request timeout", Code.DEADLINE_EXCEEDED],
      [502, "<html>Bad Gateway</html>", Code.UNKNOWN],
      [404, "", Code.NOT_FOUND],
    ];
    for (const [status, text, code] of cases) {
      const { client } = fake(() => new Response(text, { status, statusText: "Not Found" }));
      const error = await caught(client.listModelHealth());
      assert.ok(error instanceof AnalyticsError);
      assert.equal(error.status, status);
      assert.equal(error.code, code);
      assert.equal(error.message, `HTTP ${status}: ${text || "Not Found"}`);
    }
  });

  it("rejects a 200 that is not the documented JSON", async () => {
    for (const respond of [
      () => new Response("<html>captive portal</html>"),
      () => json({ success: false }),
      () => json({ model_id: "m" }),
    ]) {
      const error = await caught(fake(respond).client.getMetricsSummary());
      assert.ok(error instanceof AnalyticsError, String(error));
      assert.equal(error.status, 200);
      assert.equal(error.code, Code.UNKNOWN);
    }
  });
});

describe("deadlines and connections", () => {
  let server: Server;
  let url: string;

  before(async () => {
    // Accepts every request and never answers.
    server = createServer(() => undefined);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("a call without a response in timeoutMs is DEADLINE_EXCEEDED", async () => {
    const client = new AnalyticsClient({ baseUrl: url, timeoutMs: 100 });
    const started = performance.now();
    const error = await caught(client.getServiceHealth());
    assert.ok(error instanceof AnalyticsError, String(error));
    assert.equal(error.code, Code.DEADLINE_EXCEEDED);
    assert.equal(error.status, 0);
    assert.match(error.message, /within 100 ms/);
    assert.ok(performance.now() - started < 2000);
  });

  it("a per-call timeoutMs overrides the client's", async () => {
    const client = new AnalyticsClient({ baseUrl: url, timeoutMs: 60_000 });
    const error = await caught(client.getMetricsSummary({}, { timeoutMs: 50 }));
    assert.ok(error instanceof AnalyticsError);
    assert.equal(error.code, Code.DEADLINE_EXCEEDED);
  });

  it("the caller's AbortSignal cancels with the fetch's own error, not an AnalyticsError", async () => {
    const client = new AnalyticsClient({ baseUrl: url });
    const controller = new AbortController();
    const call = client.getServiceHealth({ signal: controller.signal });
    controller.abort();
    const error = await caught(call);
    assert.ok(!(error instanceof AnalyticsError));
    assert.equal((error as Error).name, "AbortError");
  });

  it("no server at all is UNAVAILABLE", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, "close");
    const client = new AnalyticsClient({ baseUrl: `http://127.0.0.1:${port}` });
    const error = await caught(client.getServiceHealth());
    assert.ok(error instanceof AnalyticsError, String(error));
    assert.equal(error.code, Code.UNAVAILABLE);
    assert.equal(error.status, 0);
    assert.match(error.message, /ECONNREFUSED|fetch failed/);
  });
});

describe("token", () => {
  it("sends authorization: Bearer on every request, and nothing without a token", async () => {
    const seen: (string | null)[] = [];
    const recorder = (token?: string) =>
      new AnalyticsClient({
        baseUrl: "http://analytics.test:8004",
        token,
        fetch: async (_input, init) => {
          const headers = new Headers(init?.headers);
          seen.push(headers.get("authorization"));
          assert.equal(headers.get("accept"), "application/json");
          return envelope({});
        },
      });
    await recorder("t0k.e.n").getMetricsSummary();
    await recorder().getMetricsSummary();
    assert.deepEqual(seen, ["Bearer t0k.e.n", null]);
  });

  it("gives a watch's EventSource a fetch that sends it", () => {
    const given: { url: string; init?: { fetch?: typeof globalThis.fetch } }[] = [];
    class Recorder {
      readyState = 0;
      constructor(url: string, init?: { fetch?: typeof globalThis.fetch }) {
        given.push({ url, init });
      }
      close() {}
      addEventListener() {}
    }
    const client = new AnalyticsClient({
      baseUrl: "http://analytics.test:8004",
      token: "abc",
      eventSource: Recorder as never,
      fetch: async () => envelope({}),
    });
    const subscription = client.watchModelHealth({ onSnapshot: () => {} });
    subscription.close();
    assert.equal(given.length, 1);
    assert.equal(given[0]?.url, "http://analytics.test:8004/api/health/models/watch");
    assert.equal(typeof given[0]?.init?.fetch, "function");
  });
});
