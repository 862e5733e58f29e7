"""A walk through every endpoint of the ML Analytics Service with the Python client.

    python examples/python/walkthrough.py [host:port]     # default localhost:8004 (make run)

Start the service first (``make run``); its demo data has five models with different stories.
"""

from __future__ import annotations

import sys

from mlanalytics import AnalyticsClient, InvalidArgument, NotFound


def decisions(client: AnalyticsClient, model_id: str, rival: str) -> None:
    """Tail risk, whether the confidence can be trusted, and whether the model beats its rival."""
    m = client.rolling_metrics(model_id, window="7d").metrics
    if m.HasField("probabilistic_sharpe"):
        print(f"\n{model_id}: 95 % VaR {m.var_95:.5f}, P(Sharpe > 0) {m.probabilistic_sharpe:.3f}")
    calibration = client.prediction_accuracy(model_id, window="7d").calibration
    if calibration.HasField("brier_score"):
        print(
            f"  confidence: Brier {calibration.brier_score:.3f},"
            f" ECE {calibration.expected_calibration_error:.3f} over {calibration.count}"
        )
    ab = client.compare_models(model_id, rival, window="7d")
    evidence = f"p {ab.p_value:.2g}, " if ab.HasField("p_value") else ""
    print(
        f"{model_id} vs {rival} over 7 days: verdict {ab.verdict}"
        f" ({evidence}{ab.common_bars} common bars)"
    )


def main(target: str) -> None:
    with AnalyticsClient(target) as client:
        health = client.service_health()
        print(f"service {health.service} {health.version}: {health.status}, db {health.database}")
        print(f"{len(client.service_info().endpoints)} REST endpoints")

        models = client.list_model_health()
        print(f"\n{models.total_models} models: {models.critical_models} critical")
        for model in models.models:
            print(
                f"  {model.model_id:24} {model.status:9} score {model.health_score:5.1f}"
                f"  {'; '.join(model.issues)}"
            )

        summary = client.metrics_summary()
        print(
            f"\ndesk, last 24 h: mean accuracy {summary.aggregate.avg_accuracy:.3f},"
            f" mean Sharpe {summary.aggregate.avg_sharpe_ratio:.2f}"
        )

        model_id = models.models[-1].model_id  # critical first: the last one is the healthiest
        rolling = client.rolling_metrics(model_id, window="7d")
        m = rolling.metrics
        print(
            f"\n{model_id} over 7 days: {rolling.data_points} predictions,"
            f" accuracy {m.accuracy:.3f}, F1 {m.f1_score:.3f}, Sharpe {m.sharpe_ratio:.2f},"
            f" max drawdown {m.max_drawdown:.5f}"
        )
        if m.HasField("profit_factor"):
            print(f"  profit factor {m.profit_factor:.2f}")

        accuracy = client.prediction_accuracy(model_id, window="24h")
        for row in accuracy.confusion_matrix:
            print(
                f"  predicted {row.predicted:5}: actual LONG {row.actual_long:3}"
                f" SHORT {row.actual_short:3} HOLD {row.actual_hold:3}"
            )

        everything = client.model_metrics(model_id)
        print(f"  drift {everything.drift.status}, accuracy {everything.accuracy.accuracy:.3f}")

        history = client.prediction_history(model_id, page=1, page_size=5)
        print(f"\nlatest of {history.total} predictions in 7 days:")
        for record in history.predictions:
            outcome = record.actual_action if record.HasField("actual_action") else "pending"
            print(f"  {record.timestamp.ToJsonString()} {record.action:5} -> {outcome}")

        comparison = client.prediction_comparison(model_id, limit=50)
        print(f"last 50: accuracy {comparison.accuracy:.3f}")

        print()
        for model in models.models:
            drift = client.drift_status(model.model_id)
            drifted = ", ".join(drift.features_drifted) or "-"
            print(
                f"drift {model.model_id}: {drift.status}"
                f" (data {drift.data_drift_score:.3f}, drifted: {drifted})"
            )
        worst = client.drift_features(models.models[0].model_id).features[0]
        print(f"most drifted feature of {models.models[0].model_id}: {worst.feature}")

        trends = client.performance_trends(model_id, days=3)
        print(
            f"\n{model_id} win rate is {trends.summary.win_rate_trend}"
            f" over {trends.summary.hours_with_data} hours"
        )
        for version in client.performance_comparison(window="7d").models:
            print(f"  {version.model_id} {version.model_version}: win rate {version.win_rate:.3f}")
        print(f"{model_id} health: {client.model_health(model_id).status}")
        decisions(client, model_id, rival=models.models[-2].model_id)  # the next healthiest

        try:
            client.rolling_metrics(model_id, window="2h")
        except InvalidArgument as error:
            print(f"\nbad input is explained: {error.field_violations[0].description}")
        try:
            client.rolling_metrics("no_such_model")
        except NotFound as error:
            print(f"unknown model: {error.message}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "localhost:8004")
