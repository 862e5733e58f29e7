/**
 * The ML Analytics Service from TypeScript: service health, the health of every model, one model's
 * rolling metrics and its drift status.
 *
 *   cd clients/typescript && npm ci && npm run build
 *   node dist/examples/typescript/walkthrough.js [model_id]    # MLANALYTICS_URL, default :8004
 */

import { AnalyticsClient, AnalyticsError } from "../../clients/typescript/src/index.js";

const client = new AnalyticsClient({ baseUrl: process.env["MLANALYTICS_URL"] ?? "http://localhost:8004" });
const model = process.argv[2] ?? "sac_transformer_v2.1";
const fixed = (x: number | undefined, digits = 2) => (x === undefined ? "n/a" : x.toFixed(digits));
const pct = (x: number | undefined) => (x === undefined ? "n/a" : `${(100 * x).toFixed(1)}%`);

try {
  const service = await client.getServiceHealth();
  console.log(`${service.service} ${service.version}: ${service.status}, database ${service.database}`);

  const health = await client.listModelHealth();
  console.log(`\n${health.total_models} models, ${health.critical_models} critical:`);
  for (const m of health.models) {
    const issues = m.issues.length ? ` (${m.issues.join("; ")})` : "";
    console.log(`  ${m.model_id.padEnd(22)} ${m.status.padEnd(8)} ${m.health_score.toFixed(0)}/100${issues}`);
  }

  const rolling = await client.getRollingMetrics({ model_id: model, window: "7d" });
  const metrics = rolling.metrics;
  console.log(`\n${model} over ${rolling.window}: ${rolling.data_points} predictions`);
  console.log(
    `  accuracy ${pct(metrics?.accuracy)}, win rate ${pct(metrics?.win_rate)}, ` +
      `sharpe ${fixed(metrics?.sharpe_ratio)}, p95 latency ${fixed(metrics?.p95_latency_ms, 0)} ms`,
  );

  const drift = await client.getDriftStatus({ model_id: model });
  console.log(
    `  drift ${drift.status}: data ${fixed(drift.data_drift_score, 3)}, ` +
      `concept ${fixed(drift.concept_drift_score, 3)}`,
  );
  console.log(`  drifted features: ${drift.features_drifted.join(", ") || "none"}`);
} catch (error) {
  if (!(error instanceof AnalyticsError)) throw error;
  console.error(`error: ${error.message} (HTTP ${error.status}, gRPC code ${error.code})`);
  process.exitCode = 1;
}
