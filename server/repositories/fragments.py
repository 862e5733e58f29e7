"""SQL fragments for the rules several queries share, each written once.

Every fragment reads the inference log under the alias ``f``.
"""

from __future__ import annotations

from psycopg import sql

from analytics import ACTION_CODES, ACTION_LABELS

#: A row is a prediction when it has a symbol and one of the three actions; anything else in the
#: log (a NULL or unknown action) is left out of every count rather than graded as something.
IS_PREDICTION = sql.SQL("f.symbol IS NOT NULL AND f.action_discretized IN ({})").format(
    sql.SQL(", ").join(map(sql.Literal, ACTION_LABELS))
)

#: The action as its analytics code (LONG 1, SHORT -1, HOLD 0), from the one table in analytics.
ACTION_CODE = sql.SQL("(CASE f.action_discretized {} ELSE 0 END)::int2").format(
    sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(label), sql.Literal(code))
        for label, code in zip(ACTION_LABELS, ACTION_CODES, strict=True)
    )
)

#: Wins (reward > 0) and realized trades (reward != 0), the two counts of every win rate.
WINS_AND_REALIZED = sql.SQL(
    "(count(*) FILTER (WHERE f.reward > 0))::int4 AS wins,"
    " (count(*) FILTER (WHERE f.reward <> 0))::int4 AS realized"
)

#: Every distinct model_id by a loose index scan: one index probe per model, not a table scan.
ALL_MODELS = sql.SQL("""
    WITH RECURSIVE models AS (
        (SELECT model_id FROM dw.fact_rl_inference ORDER BY model_id LIMIT 1)
        UNION ALL
        SELECT (SELECT f.model_id FROM dw.fact_rl_inference f
                WHERE f.model_id > m.model_id ORDER BY f.model_id LIMIT 1)
        FROM models m WHERE m.model_id IS NOT NULL
    )
    SELECT model_id FROM models WHERE model_id IS NOT NULL
""")
