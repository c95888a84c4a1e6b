#!/usr/bin/env bash
# The local Spark toolchain for glue/etl.py, installed into .spark/ (ignored by git):
#   .spark/venv/                       Python with pyspark pinned to AWS Glue 5.1's Spark (3.5.6)
#   .spark/jars/postgresql-<v>.jar     the PostgreSQL JDBC driver Glue 5 ships, SHA-256 checked
# Needs python3 (3.11, Glue's), Java 17 and Maven; reaches only PyPI and Maven Central, by package
# name. Safe to run again: it only installs what is missing or wrong.
set -euo pipefail
cd "$(dirname "$0")/.."

PGJDBC_VERSION="42.7.3"
PGJDBC_SHA256="a2644cbfba1baa145ff7e8c8ef582a6eed7a7ec4ca792f7f054122bdec756268"
SPARK_DIR=".spark"
JAR="$SPARK_DIR/jars/postgresql-$PGJDBC_VERSION.jar"

for tool in python3 java mvn; do
  command -v "$tool" >/dev/null || { echo "setup-spark: $tool is required (Java 17 and Maven for Spark and its JDBC driver)" >&2; exit 1; }
done

mkdir -p "$SPARK_DIR/jars"
if [ ! -x "$SPARK_DIR/venv/bin/python" ]; then
  python3 -m venv "$SPARK_DIR/venv"
fi
if ! "$SPARK_DIR/venv/bin/python" -m pip install --disable-pip-version-check -q -r glue/requirements-spark.txt; then
  echo "setup-spark: pip could not install glue/requirements-spark.txt" >&2
  exit 1
fi

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
if [ ! -f "$JAR" ] || [ "$(sha256_of "$JAR")" != "$PGJDBC_SHA256" ]; then
  rm -f "$JAR"
  mvn -q -B dependency:copy -Dartifact="org.postgresql:postgresql:$PGJDBC_VERSION" \
    -DoutputDirectory="$SPARK_DIR/jars" -Dmdep.overWriteReleases=true >&2
  actual="$(sha256_of "$JAR")"
  if [ "$actual" != "$PGJDBC_SHA256" ]; then
    rm -f "$JAR"
    echo "setup-spark: $JAR has SHA-256 $actual, expected $PGJDBC_SHA256; removed" >&2
    exit 1
  fi
fi

"$SPARK_DIR/venv/bin/python" -c "import pyspark; print('setup-spark: pyspark', pyspark.__version__, 'and', '$JAR')"
