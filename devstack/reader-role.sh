#!/usr/bin/env bash
# docker-entrypoint-initdb.d (after 01-schema.sql): the role the service connects as, granted
# what devstack/roles.py grants in `make run`: log in, SELECT the two tables, nothing else.
#   READER_USER (default mlanalytics_reader), READER_PASSWORD (required)
# Also runnable by hand against any database: PGHOST=... POSTGRES_USER=... POSTGRES_DB=... READER_PASSWORD=...
set -euo pipefail
: "${READER_PASSWORD:?set READER_PASSWORD}"
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v reader="${READER_USER:-mlanalytics_reader}" -v password="$READER_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'reader')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec
ALTER ROLE :"reader" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"reader" PASSWORD :'password';
ALTER ROLE :"reader" SET default_transaction_read_only = on;
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'reader') \gexec
GRANT USAGE ON SCHEMA dw, public TO :"reader";
GRANT SELECT ON dw.fact_rl_inference, usdcop_m5_ohlcv TO :"reader";
SQL
