"""Runs glue/etl.py's main() on a local Spark, as AWS Glue 5.1 runs it, one job per request.

Started by the local Glue stand-in (local/stand-ins/glue.ts) for `npm start -- --engine spark`, by
the real-Spark tests and by the benchmark, with the Python of scripts/setup-spark.sh. One Spark
(local[2], the PostgreSQL JDBC driver Glue ships, UTC as on Glue) serves every request, so the JVM
starts once.

Protocol, JSON lines: each line on stdin is a job request
    {"arguments": {"--JOB_NAME": ..., "--month": ..., ...},   the job run's arguments
     "connections": {"<name>": {"fullUrl": "jdbc:postgresql://...", "user": ..., "password": ...}},
     "extraFiles": ["/abs/path", ...],                          copied to the job's working directory
     "sparkConf": {"spark.sql.adaptive.enabled": "false", ...}} runtime settings for this job only
and each answer on stdout is {"status": "SUCCEEDED"} or {"status": "FAILED", "error": "<name>: <message>"}.
Everything else (etl.py's log, Spark's) goes to stderr. End of input ends the server.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(HERE), str(REPO)]

from awsglue.context import register_connections  # noqa: E402  (after the path is set)

SPARK_DIR = Path(os.environ.get("LOCAL_SPARK_DIR", REPO / ".spark"))
# Memory for the one local JVM (driver and executors); the benchmark raises it for 10M loans.
DRIVER_MEMORY = os.environ.get("LOCAL_SPARK_DRIVER_MEMORY", "2g")


def jdbc_jar() -> Path:
    jars = sorted((SPARK_DIR / "jars").glob("postgresql-*.jar"))
    if not jars:
        raise SystemExit(f"no PostgreSQL JDBC driver under {SPARK_DIR / 'jars'}: run scripts/setup-spark.sh")
    return jars[-1]


def start_spark() -> Any:
    """Starts the JVM in a working directory of its own, which each job's --extra-files then fill.

    The JVM resolves relative paths (the CA bundle etl.py names for its executors) against the
    directory it started in, as Glue's driver does against the script's; so both share one.
    """
    from pyspark.sql import SparkSession

    os.chdir(tempfile.mkdtemp(prefix="glue-job-"))
    jar = str(jdbc_jar())
    return (
        SparkSession.builder.master("local[2]")
        .appName("monthly-loan-extract-local")
        .config("spark.driver.memory", DRIVER_MEMORY)
        # On the system class path, as on Glue, so the driver's snapshot connection finds it too.
        .config("spark.driver.extraClassPath", jar)
        .config("spark.executor.extraClassPath", jar)
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


@contextlib.contextmanager
def job_working_dir(extra_files: list[str]):
    """Glue copies --extra-files to the script's working directory; so does this, and empties it after."""
    work = Path.cwd()
    try:
        for name in extra_files:
            shutil.copy(name, work / Path(name).name)
        yield work
    finally:
        for entry in work.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


@contextlib.contextmanager
def runtime_conf(spark: Any, settings: Mapping[str, str]):
    previous = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, str(value))
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)
        spark.catalog.clearCache()


def run_job(spark: Any, request: Mapping[str, Any]) -> dict[str, str]:
    from glue import etl

    argv = ["etl.py"]
    for name, value in request.get("arguments", {}).items():
        argv += [name, str(value)]
    register_connections(request.get("connections", {}))
    try:
        with job_working_dir(list(request.get("extraFiles", []))), runtime_conf(spark, request.get("sparkConf", {})):
            etl.main(argv)
        return {"status": "SUCCEEDED"}
    except Exception as error:  # noqa: BLE001 (every failure is the job run's, reported as Glue would)
        logging.getLogger("glue-job-server").exception("job run failed")
        return {"status": "FAILED", "error": describe(error)}
    finally:
        register_connections({})


def describe(error: BaseException) -> str:
    """Glue's ErrorMessage: the error's name and first line (a Java error's, not py4j's wrapper)."""
    java = getattr(error, "java_exception", None)
    if java is not None:
        return str(java.toString()).splitlines()[0]
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def main() -> None:
    protocol = sys.stdout
    # etl.py and Spark log freely; only answers go to the real stdout.
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    spark = start_spark()
    spark.sparkContext.setLogLevel("WARN")
    protocol.write(json.dumps({"status": "READY", "spark": spark.version}) + "\n")
    protocol.flush()
    work = Path.cwd()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError as error:
            answer = {"status": "FAILED", "error": f"bad request: {error}"}
        else:
            answer = run_job(spark, request)
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
