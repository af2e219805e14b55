#!/usr/bin/env bash
# Regenerate migration 0001 from yuqing/store/models.py. Only while 0.1 is unreleased: after the
# first release, add a new revision instead (alembic revision --autogenerate).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
tmp=$(mktemp -d)
rm -f yuqing/store/migrations/versions/0001_initial.py
$PY - "$tmp" <<'PYEOF'
import sys
from alembic import command
from yuqing.store.db import alembic_config
cfg = alembic_config(f"sqlite:///{sys.argv[1]}/empty.db")
command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
PYEOF
mv yuqing/store/migrations/versions/0001_initial_schema.py yuqing/store/migrations/versions/0001_initial.py
rm -rf "$tmp"
echo "wrote yuqing/store/migrations/versions/0001_initial.py"
