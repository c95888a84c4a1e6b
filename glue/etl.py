"""The monthly extract as an AWS Glue 5.0 job (Spark 3.5, Python 3.11).

A thin driver around glue/sql: it reads only the rows the month's window needs from the ODS over
parallel JDBC, runs the shared SQL with Spark SQL and writes the staging layout of
functions/core/staging-layout.ts, exactly as local/engine/extract-job.ts does with DuckDB.

Everything except main() and the Spark-only helpers at the end is plain Python, importable and
tested without pyspark or awsglue.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

LOG = logging.getLogger("monthly-extract")

# The contract's columns in order (functions/core/extract-csv.ts EXTRACT_COLUMNS).
EXTRACT_COLUMNS = (
    "bank_name",
    "branch_id",
    "branch_address",
    "month",
    "loan_count",
    "loan_amount",
    "loan_count_3m",
    "loan_amount_3m",
    "moving_avg_3m",
)

# Folder names under the run's staging prefix (functions/core/staging-layout.ts STAGING_FOLDERS).
STAGING_FOLDERS = {"rows": "rows", "banks": "banks", "rejected": "rejected", "source_rows": "source_rows"}

REQUIRED_ARGS = (
    "JOB_NAME",
    "month",
    "window_start",
    "month_start",
    "window_end",
    "staging_path",
    "run_id",
    "connection_name",
)
DEFAULT_READ_PARTITIONS = 8
# Each partition is one concurrent query on the Aurora reader; more would only load the database.
MAX_READ_PARTITIONS = 64
# Rows per round trip; with it Spark's PostgreSQL dialect turns autocommit off so the driver
# streams through a cursor instead of holding a whole partition in memory.
FETCH_SIZE = 10_000

SQL_FILES = ("branch_loans_3m.sql", "rejected_loans.sql")
SOURCE_MODEL_FILE = "source-model.json"

# Every bank, even without branches, so each gets a (header-only) file. NULL name as '' like the local engine.
BANKS_SQL = "SELECT idbank AS bank_id, COALESCE(name, '') AS bank_name FROM bank ORDER BY idbank"

# Spark's JDBC column types accepted for each type family of source-model.json.
SPARK_TYPE_FAMILIES = {
    "integer": ("smallint", "int", "bigint"),
    "text": ("string",),
    "date": ("date",),
}

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Bucket names are 3-63 of a-z 0-9 . -; then zero or more non-empty key segments, each ending in /.
_STAGING_PATH = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(?:[^/]+/)*$")
_READ_PARTITIONS = re.compile(r"^[0-9]+$")


# --- arguments ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobConfig:
    job_name: str
    month: str
    window_start: date
    month_start: date
    window_end: date
    staging_path: str
    run_id: str
    connection_name: str
    read_partitions: int


def resolved_option_names(argv: Sequence[str]) -> list[str]:
    """The names to ask getResolvedOptions for: it fails on an absent name, so the optional one only when given."""
    names = list(REQUIRED_ARGS)
    if any(a == "--read_partitions" or a.startswith("--read_partitions=") for a in argv):
        names.append("read_partitions")
    return names


def validate_args(raw: Mapping[str, str]) -> JobConfig:
    """Checks the job arguments; raises ValueError naming the bad one.

    The window comes from the TypeScript month logic (functions/core/month.ts); it is only checked
    for consistency here, never recomputed.
    """
    for name in REQUIRED_ARGS:
        if not str(raw.get(name, "")).strip():
            raise ValueError(f"--{name} is required and must not be empty")

    month = raw["month"]
    if not _MONTH.match(month):
        raise ValueError(f'--month must look like "YYYY-MM" with a month 01..12, got "{month}"')
    window_start = _first_of_month(raw, "window_start")
    month_start = _first_of_month(raw, "month_start")
    window_end = _first_of_month(raw, "window_end")
    if not window_start < month_start:
        raise ValueError(f"--window_start ({window_start}) must be before --month_start ({month_start})")
    if not month_start < window_end:
        raise ValueError(f"--window_end ({window_end}) must be after --month_start ({month_start})")
    if raw["month_start"][:7] != month:
        raise ValueError(f'--month "{month}" does not match --month_start {raw["month_start"]}')

    staging_path = raw["staging_path"]
    if not _STAGING_PATH.match(staging_path):
        raise ValueError(f'--staging_path must be an S3 prefix "s3://bucket/prefix/" ending in "/", got "{staging_path}"')

    partitions_text = str(raw.get("read_partitions", DEFAULT_READ_PARTITIONS)).strip()
    if not _READ_PARTITIONS.match(partitions_text) or not 1 <= int(partitions_text) <= MAX_READ_PARTITIONS:
        raise ValueError(f'--read_partitions must be an integer from 1 to {MAX_READ_PARTITIONS}, got "{partitions_text}"')

    return JobConfig(
        job_name=raw["JOB_NAME"],
        month=month,
        window_start=window_start,
        month_start=month_start,
        window_end=window_end,
        staging_path=staging_path,
        run_id=raw["run_id"].strip(),
        connection_name=raw["connection_name"].strip(),
        read_partitions=int(partitions_text),
    )


def _first_of_month(raw: Mapping[str, str], name: str) -> date:
    text = raw[name]
    try:
        # The regex first: fromisoformat in 3.11 also takes forms such as 20240101.
        parsed = date.fromisoformat(text) if _ISO_DATE.match(text) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(f'--{name} must be an ISO date "YYYY-MM-DD", got "{text}"')
    if parsed.day != 1:
        raise ValueError(f"--{name} must be the first day of a month, got {text}")
    return parsed


def staging_paths(staging_path: str) -> dict[str, str]:
    """Where each output goes: <staging_path><folder>/."""
    return {key: f"{staging_path}{folder}/" for key, folder in STAGING_FOLDERS.items()}


# --- shared files (reach the job through --extra-files) -----------------------------------------


def resource_dirs() -> list[Path]:
    """Glue copies --extra-files to the working directory; from a checkout they sit next to this file."""
    here = Path(__file__).resolve().parent
    dirs: list[Path] = []
    for candidate in (here, Path.cwd(), here / "sql"):
        if candidate not in dirs:
            dirs.append(candidate)
    return dirs


def find_resource(file_name: str, dirs: Iterable[Path]) -> Path:
    searched = list(dirs)
    for directory in searched:
        path = directory / file_name
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{file_name} not found in {', '.join(str(d) for d in searched)}; pass it to the job with --extra-files"
    )


def strip_sql(text: str) -> str:
    # Like local/engine/extract-sql.ts: a trailing ';' would end a statement an engine wraps.
    text = text.strip()
    return text[:-1] if text.endswith(";") else text


def load_sql(file_name: str, dirs: Iterable[Path]) -> str:
    return strip_sql(find_resource(file_name, dirs).read_text(encoding="utf-8"))


def load_source_model(dirs: Iterable[Path]) -> dict[str, Any]:
    return json.loads(find_resource(SOURCE_MODEL_FILE, dirs).read_text(encoding="utf-8"))


# --- what is read from the ODS ------------------------------------------------------------------


@dataclass(frozen=True)
class SourceTable:
    name: str
    # (column, type family) in read order; the first is the id the dimension reads split on.
    columns: tuple[tuple[str, str], ...]
    window_column: str | None = None


def source_tables(model: Mapping[str, Any]) -> list[SourceTable]:
    return [
        SourceTable(name=name, columns=tuple(table["columns"].items()), window_column=table.get("windowColumn"))
        for name, table in model["tables"].items()
    ]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_query(schema: str, table: SourceTable) -> str:
    """The JDBC `dbtable`: only the listed columns, so PostgreSQL never sends the rest."""
    columns = ", ".join(quote_ident(c) for c, _ in table.columns)
    return f"(SELECT {columns} FROM {quote_ident(schema)}.{quote_ident(table.name)}) AS {quote_ident(table.name)}"


def window_predicates(column: str, start: date, end: date, parts: int) -> list[str]:
    """[start, end) cut into at most `parts` contiguous day ranges, plus the NULL rows.

    Each row lands in exactly one predicate; rows outside the window in none (never read).
    """
    if parts < 1:
        raise ValueError(f"parts must be at least 1, got {parts}")
    days = (end - start).days
    if days < 1:
        raise ValueError(f"empty window [{start}, {end})")
    parts = min(parts, days)
    bounds = [start + timedelta(days=(days * i) // parts) for i in range(parts + 1)]
    col = quote_ident(column)
    ranges = [f"{col} >= DATE '{lo.isoformat()}' AND {col} < DATE '{hi.isoformat()}'" for lo, hi in zip(bounds, bounds[1:])]
    return ranges + [f"{col} IS NULL"]


def modulo_predicates(column: str, parts: int) -> list[str]:
    """The table split on an integer id: one predicate per remainder, plus the NULL ids.

    mod() keeps the sign of the id in PostgreSQL, so mod(mod(id, n) + n, n) puts negative ids in
    0..n-1 too (and cannot overflow, unlike abs()).
    """
    if parts < 1:
        raise ValueError(f"parts must be at least 1, got {parts}")
    col = quote_ident(column)
    return [f"mod(mod({col}, {parts}) + {parts}, {parts}) = {k}" for k in range(parts)] + [f"{col} IS NULL"]


def read_predicates(table: SourceTable, config: JobConfig) -> list[str]:
    if table.window_column:
        return window_predicates(table.window_column, config.window_start, config.window_end, config.read_partitions)
    return modulo_predicates(table.columns[0][0], config.read_partitions)


def check_source_types(table: SourceTable, dtypes: Sequence[tuple[str, str]]) -> None:
    """Fails, naming table.column, if Spark read a column with another type family than source-model.json says."""
    found = dict(dtypes)
    problems = []
    for column, family in table.columns:
        dtype = found.get(column)
        accepted = SPARK_TYPE_FAMILIES[family]
        if dtype is None or not (dtype in accepted or (family == "text" and is_text_dtype(dtype))):
            problems.append(f"{table.name}.{column} is {dtype or 'missing'}; the extract needs {family} ({', '.join(accepted)})")
    if problems:
        raise ValueError(f"the ODS does not match glue/source-model.json: {'; '.join(problems)}")


def is_text_dtype(dtype: str) -> bool:
    # Spark may report a JDBC varchar as varchar(n) rather than string.
    return dtype == "string" or dtype.startswith(("varchar(", "char("))


def jdbc_url(conf: Mapping[str, str]) -> str:
    """The JDBC URL with the database from extract_jdbc_conf(); its `url` lacks the database, `fullUrl` has it."""
    full = conf.get("fullUrl")
    if full:
        return full
    url = conf.get("url", "")
    if re.match(r"^jdbc:postgresql://[^/]+/[^/?]+", url):
        return url
    # Never print the conf: it holds the password.
    raise ValueError(f"the Glue connection gives no JDBC URL with a database name (keys: {', '.join(sorted(conf))})")


# --- what is computed and written ---------------------------------------------------------------


def extract_window_sql(config: JobConfig) -> str:
    """The one-row extract_window relation, as local/engine/extract-sql.ts extractWindowSql builds it.

    The dates are validated, so inlining them as literals is safe.
    """
    return f"""SELECT CAST('{config.month}' AS VARCHAR(7)) AS month,
    CAST('{config.window_start.isoformat()}' AS DATE) AS window_start,
    CAST('{config.month_start.isoformat()}' AS DATE) AS month_start,
    CAST('{config.window_end.isoformat()}' AS DATE) AS window_end"""


def check_extract_columns(columns: Sequence[str]) -> None:
    expected = ["bank_id", *EXTRACT_COLUMNS]
    if list(columns) != expected:
        raise ValueError(
            f"glue/sql/branch_loans_3m.sql returns columns {', '.join(columns)}; the contract needs {', '.join(expected)}"
        )


def csv_writer_options() -> dict[str, str]:
    """Spark CSV options that give contract section 3's RFC 4180 format (what extract-csv.ts csvField writes)."""
    return {
        "header": "true",
        "sep": ",",
        "quote": '"',
        # Spark's default escape is a backslash (\"); RFC 4180 doubles the quote ("").
        "escape": '"',
        "quoteAll": "false",
        # Quote a field holding a quote character, as RFC 4180 requires.
        "escapeQuotes": "true",
        # Spark writes an empty string as "" by default; the contract has an empty field for both.
        "emptyValue": "",
        "nullValue": "",
        # Spark trims values on write by default, which would change addresses.
        "ignoreLeadingWhiteSpace": "false",
        "ignoreTrailingWhiteSpace": "false",
        "lineSep": "\n",
        "encoding": "UTF-8",
        # Parts must stay part-*.csv for the publish step, whatever the cluster's default codec.
        "compression": "none",
    }


def lone_cr_condition(string_columns: Sequence[str]) -> str | None:
    """SQL condition for a value holding CR but no LF.

    Spark's CSV writer (univocity) quotes a field for `,` `"` or LF but not for a lone CR, which
    contract section 3 requires quoted. Such rows fail the run instead of being written wrong.
    """
    checks = [f"(instr(`{c}`, char(13)) > 0 AND instr(`{c}`, char(10)) = 0)" for c in string_columns]
    return " OR ".join(checks) if checks else None


# --- Spark-only ---------------------------------------------------------------------------------


def read_source_table(spark: Any, url: str, properties: dict[str, str], schema: str, table: SourceTable, config: JobConfig) -> int:
    """Reads one table in parallel into a cached temp view of its name; returns the rows read."""
    df = spark.read.jdbc(
        url=url,
        table=source_query(schema, table),
        predicates=read_predicates(table, config),
        properties=properties,
    )
    check_source_types(table, df.dtypes)
    # Cached before counting, so the SQL reuses these rows instead of reading PostgreSQL again.
    df = df.cache()
    count = df.count()
    df.createOrReplaceTempView(table.name)
    LOG.info("read %d rows from %s.%s", count, schema, table.name)
    return count


def fail_on_lone_cr(rows: Any) -> None:
    condition = lone_cr_condition([name for name, dtype in rows.dtypes if is_text_dtype(dtype)])
    bad = rows.where(condition).select("bank_id", "branch_id").limit(20).collect() if condition else []
    if bad:
        ids = ", ".join(f"bank {r.bank_id} branch {r.branch_id}" for r in bad)
        raise ValueError(f"a text field holds a carriage return without a line feed ({ids}); Spark's CSV writer would not quote it")


def write_json_lines(df: Any, path: str) -> None:
    df.coalesce(1).write.mode("overwrite").option("compression", "none").json(path)


def main(argv: Sequence[str] | None = None) -> None:
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    argv = list(sys.argv if argv is None else argv)
    raw = getResolvedOptions(argv, resolved_option_names(argv))
    config = validate_args(raw)
    paths = staging_paths(config.staging_path)
    dirs = resource_dirs()
    model = load_source_model(dirs)
    branch_sql, rejected_sql = (load_sql(name, dirs) for name in SQL_FILES)

    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(config.job_name, raw)
    # Integer overflow fails the run instead of wrapping into a wrong sum.
    spark.conf.set("spark.sql.ansi.enabled", "true")
    LOG.info(
        "run %s: month %s, window [%s, %s), staging %s, connection %s, %d read partitions",
        config.run_id, config.month, config.window_start, config.window_end,
        config.staging_path, config.connection_name, config.read_partitions,
    )

    jdbc_conf = glue_context.extract_jdbc_conf(config.connection_name)
    properties = {
        "user": jdbc_conf["user"],
        "password": jdbc_conf["password"],
        "driver": "org.postgresql.Driver",
        "fetchsize": str(FETCH_SIZE),
    }
    url = jdbc_url(jdbc_conf)
    source_rows = [
        (table.name, read_source_table(spark, url, properties, model["schema"], table, config))
        for table in source_tables(model)
    ]

    spark.sql(extract_window_sql(config)).createOrReplaceTempView("extract_window")
    rows = spark.sql(branch_sql)
    check_extract_columns(rows.columns)
    rows = rows.cache()
    fail_on_lone_cr(rows)

    per_bank = rows.groupBy("bank_id").count().orderBy("bank_id").collect()
    LOG.info("writing %d rows: %s", sum(r["count"] for r in per_bank), ", ".join(f"bank {r.bank_id}: {r['count']}" for r in per_bank))
    # Sorting by bank_id too matches the order partitionBy needs; otherwise Spark 3.4+ plans its own
    # sort by bank_id on top and drops the branch_id order.
    (
        rows.repartition("bank_id")
        .sortWithinPartitions("bank_id", "branch_id")
        .write.mode("overwrite")
        .partitionBy("bank_id")
        .options(**csv_writer_options())
        .csv(paths["rows"])
    )

    rejected = spark.sql(rejected_sql).cache()
    rejected_counts = rejected.collect()
    LOG.info("rejected loans: %s", ", ".join(f"{r.reason}: {r.loan_count}" for r in rejected_counts) or "none")
    write_json_lines(rejected, paths["rejected"])
    write_json_lines(spark.sql(BANKS_SQL), paths["banks"])
    write_json_lines(spark.createDataFrame(source_rows, "`table` STRING, row_count BIGINT"), paths["source_rows"])
    LOG.info("staged under %s", config.staging_path)
    job.commit()


if __name__ == "__main__":
    main()
