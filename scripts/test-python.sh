#!/usr/bin/env bash
# The Python tests of glue/: with the Python of scripts/setup-spark.sh when it is installed (so the
# real-Spark tests run), else the machine's python3 (they skip, and under CI=true they fail).
# Ends with a summary line, also kept in .test-results/python.json for .ci/run's total.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=".spark/venv/bin/python"
if [ ! -x "$PYTHON" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true but $PYTHON is missing: .ci/run must run scripts/setup-spark.sh" >&2
    exit 1
  fi
  echo "note: $PYTHON is missing (scripts/setup-spark.sh installs it); the real-Spark tests will skip" >&2
  PYTHON="python3"
fi
mkdir -p .test-results
exec "$PYTHON" - <<'PY'
import json, sys, unittest

suite = unittest.defaultTestLoader.discover("glue/tests", top_level_dir=".")
result = unittest.TextTestRunner(verbosity=2).run(suite)
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
skipped = len(result.skipped)
passed = result.testsRun - failed - skipped
with open(".test-results/python.json", "w", encoding="utf-8") as out:
    json.dump({"passed": passed, "failed": failed, "skipped": skipped}, out)
print(f"python: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(0 if result.wasSuccessful() else 1)
PY
