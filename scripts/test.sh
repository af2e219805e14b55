#!/usr/bin/env bash
# The test suite, as `make test` and CI run it: lint, every test on SQLite, then the tests marked
# `postgres` (storage, review, alert engine, end to end) again on a real PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."

ruff check .
ruff format --check .

python -m pytest -q

PG_URL=${YUQING_TEST_DATABASE_URL:-postgresql+psycopg://root@127.0.0.1:5432/test}
if python - "$PG_URL" <<'PY' 2>/dev/null; then
import sys
import psycopg
psycopg.connect(sys.argv[1].replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
PY
  echo "== the same storage and end-to-end tests on PostgreSQL ($PG_URL) =="
  YUQING_TEST_DATABASE_URL="$PG_URL" python -m pytest -q -m postgres
else
  if [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL is not reachable at $PG_URL (CI must start it: see .ci/run)" >&2
    exit 1
  fi
  echo "NOTE: PostgreSQL not reachable at $PG_URL — the PostgreSQL pass was NOT run." >&2
fi
