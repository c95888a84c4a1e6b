"""The monthly extract as an AWS Glue 5.1 job (Spark 3.5.6, Python 3.11, Java 17).

A thin driver around glue/sql: it reads only what the month references from the ODS over JDBC (the
window's loans with the accounts and clients they reference, resolved in PostgreSQL by
sql/read_window.sql; every bank and branch), all partitions in one exported snapshot, over verified
TLS; runs the shared SQL with
Spark SQL and writes the staging layout of functions/core/staging-layout.ts, byte for byte what
local/engine/extract-job.ts writes with DuckDB, except the analytics/ Parquet copy, whose rows and
schema (not bytes) are the same (test/integration/spark-engine.test.ts proves both on a real Spark).

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
# Optional arguments and their defaults. TLS is verified against the RDS CA bundle shipped with the
# job; only the local runner (local/glue-spark) passes `disable`, for a test server without TLS.
OPTIONAL_ARGS = {
    "read_partitions": "8",
    "ods_sslmode": "verify-full",
    "ods_ssl_root_cert": "rds-ca-bundle.pem",
}
SSL_MODES = ("verify-full", "disable")
# Each partition is one concurrent query on the Aurora reader; more would only load the database.
MAX_READ_PARTITIONS = 64
# Rows per round trip; with it Spark's PostgreSQL dialect turns autocommit off so the driver
# streams through a cursor instead of holding a whole partition in memory.
FETCH_SIZE = 10_000

SQL_FILES = ("branch_loans_3m.sql", "rejected_loans.sql")
# The name the window read is cached under before its tables are rebuilt from it.
WINDOW_READ_VIEW = "window_read"
SOURCE_MODEL_FILE = "source-model.json"
LAYOUT_FILE = "extract-layout.json"

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
# The local runner stages to a folder (Hadoop's S3 connectors need the AWS SDK); absolute, ending in /.
_LOCAL_STAGING_PATH = re.compile(r"^file:///(?:[^/]+/)+$")
_READ_PARTITIONS = re.compile(r"^[0-9]+$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# What pg_export_snapshot() returns, e.g. 00000003-0000001B-1; checked before it is put in SQL.
_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(?:-[0-9]+)?$")


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
    ods_sslmode: str
    ods_ssl_root_cert: str


def resolved_option_names(argv: Sequence[str]) -> list[str]:
    """The names to ask getResolvedOptions for: it fails on an absent name, so optional ones only when given."""
    names = list(REQUIRED_ARGS)
    for name in OPTIONAL_ARGS:
        if any(a == f"--{name}" or a.startswith(f"--{name}=") for a in argv):
            names.append(name)
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
    if not (_STAGING_PATH.match(staging_path) or _LOCAL_STAGING_PATH.match(staging_path)):
        raise ValueError(f'--staging_path must be an S3 prefix "s3://bucket/prefix/" ending in "/", got "{staging_path}"')

    optional = {name: str(raw.get(name, default)).strip() for name, default in OPTIONAL_ARGS.items()}
    partitions_text = optional["read_partitions"]
    if not _READ_PARTITIONS.match(partitions_text) or not 1 <= int(partitions_text) <= MAX_READ_PARTITIONS:
        raise ValueError(f'--read_partitions must be an integer from 1 to {MAX_READ_PARTITIONS}, got "{partitions_text}"')
    if optional["ods_sslmode"] not in SSL_MODES:
        raise ValueError(f'--ods_sslmode must be one of {", ".join(SSL_MODES)}, got "{optional["ods_sslmode"]}"')
    if not _FILE_NAME.match(optional["ods_ssl_root_cert"]):
        raise ValueError(f'--ods_ssl_root_cert must be a file name passed with --extra-files, got "{optional["ods_ssl_root_cert"]}"')

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
        ods_sslmode=optional["ods_sslmode"],
        ods_ssl_root_cert=optional["ods_ssl_root_cert"],
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


def staging_paths(staging_path: str, layout: Mapping[str, Any]) -> dict[str, str]:
    """Where each output goes: <staging_path><folder>/, keyed as extract-layout.json's stagingFolders."""
    return {key: f"{staging_path}{folder}/" for key, folder in layout["stagingFolders"].items()}


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


def load_layout(dirs: Iterable[Path]) -> dict[str, Any]:
    return json.loads(find_resource(LAYOUT_FILE, dirs).read_text(encoding="utf-8"))


# --- what is read from the ODS ------------------------------------------------------------------


@dataclass(frozen=True)
class SourceTable:
    name: str
    # (column, type family) in read order; the first is the id the dimension reads split on (and
    # the key of a key_in_read table).
    columns: tuple[tuple[str, str], ...]
    window_column: str | None = None
    # Read through the window read: only the rows it references, keyed by this column of the read.
    key_in_read: str | None = None

    @property
    def read_through_window(self) -> bool:
        return self.window_column is not None or self.key_in_read is not None


def source_tables(model: Mapping[str, Any]) -> list[SourceTable]:
    return [
        SourceTable(
            name=name,
            columns=tuple(table["columns"].items()),
            window_column=table.get("windowColumn"),
            key_in_read=table.get("keyInRead"),
        )
        for name, table in model["tables"].items()
    ]


def window_read_table(model: Mapping[str, Any]) -> SourceTable:
    """The window read's columns, as a table for check_source_types."""
    return SourceTable(name=WINDOW_READ_VIEW, columns=tuple(model["windowRead"]["columns"].items()))


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_query(schema: str, table: SourceTable) -> str:
    """The JDBC `dbtable`: only the listed columns, so PostgreSQL never sends the rest."""
    columns = ", ".join(quote_ident(c) for c, _ in table.columns)
    return f"(SELECT {columns} FROM {quote_ident(schema)}.{quote_ident(table.name)}) AS {quote_ident(table.name)}"


def window_read_query(read_sql: str, config: JobConfig) -> str:
    """The JDBC `dbtable` of the window read: sql/read_window.sql over the month's extract_window.

    PostgreSQL runs it whole: it resolves each window loan's account and client where the rows are,
    so only referenced rows travel. The tables are unqualified in the file; the sessions' search_path
    is the model's schema (snapshot_import_statement).
    """
    return f"(WITH extract_window AS ({extract_window_sql(config)}) SELECT * FROM ({read_sql}) AS {WINDOW_READ_VIEW}) AS {WINDOW_READ_VIEW}"


def window_read_predicates(window_column: str) -> list[str]:
    """The window read's JDBC partitions: the window's loans in one, the NULL-date loans in the other.

    One query for the window, not one per day range: each range would repeat the joins, and
    PostgreSQL resolves a range by scanning account and client whole (a hash join), so eight ranges
    read the dimensions eight times (bench/README.md). The NULL-date loans look nothing up.
    """
    col = quote_ident(window_column)
    return [f"{col} IS NOT NULL", f"{col} IS NULL"]


def rebuild_from_window_read_sql(table: SourceTable) -> str:
    """Spark SQL that rebuilds one table of the window read (glue/source-model.json says how), as
    local/engine/source-reader.ts does in DuckDB: the windowed table every row, a referenced table
    each distinct row whose key was found."""
    columns = [f"`{name}`" for name, _ in table.columns]
    if table.key_in_read is None:
        return f"SELECT {', '.join(columns)} FROM {WINDOW_READ_VIEW}"
    key = f"`{table.key_in_read}`"
    return f"SELECT DISTINCT {', '.join([f'{key} AS {columns[0]}', *columns[1:]])} FROM {WINDOW_READ_VIEW} WHERE {key} IS NOT NULL"


def id_range_predicates(column: str, lowest: int | None, highest: int | None, parts: int) -> list[str]:
    """The table split on its integer id into at most `parts` contiguous ranges, plus the NULL ids.

    `lowest` and `highest` are the table's min and max id in the same snapshot, so every row falls
    in exactly one predicate; each range is an index range scan on the primary key, where a split
    by `id % n` would scan the whole table once per partition.
    """
    if parts < 1:
        raise ValueError(f"parts must be at least 1, got {parts}")
    col = quote_ident(column)
    if lowest is None or highest is None:
        return [f"{col} IS NULL"]
    if highest < lowest:
        raise ValueError(f"empty id range [{lowest}, {highest}]")
    span = highest - lowest + 1
    parts = min(parts, span)
    bounds = [lowest + (span * i) // parts for i in range(parts + 1)]
    return [f"{col} >= {lo} AND {col} < {hi}" for lo, hi in zip(bounds, bounds[1:])] + [f"{col} IS NULL"]


def id_bounds_query(schema: str, table: SourceTable) -> str:
    column = quote_ident(table.columns[0][0])
    return f"SELECT min({column}), max({column}) FROM {quote_ident(schema)}.{quote_ident(table.name)}"


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


def connection_credentials(conf: Mapping[str, str], connection_name: str, glue_client: Any, secrets_client: Any) -> tuple[str, str]:
    """User and password of the ODS login: from the connection, or from its Secrets Manager secret.

    A connection that keeps its login in Secrets Manager (SECRET_ID) may not hand it out through
    extract_jdbc_conf(); then the secret is read as Glue would, {"username", "password"}. The clients
    are boto3's glue and secretsmanager (callables, so they are only made when needed).
    """
    if conf.get("user") and conf.get("password") is not None:
        return conf["user"], conf["password"]
    properties = glue_client().get_connection(Name=connection_name, HidePassword=True)["Connection"].get("ConnectionProperties", {})
    secret_id = properties.get("SECRET_ID")
    if not secret_id:
        raise ValueError(f"the Glue connection {connection_name} gives no user and password and names no SECRET_ID")
    secret_text = secrets_client().get_secret_value(SecretId=secret_id).get("SecretString")
    try:
        secret = json.loads(secret_text or "")
    except ValueError:
        secret = None
    if not isinstance(secret, dict) or not secret.get("username") or not secret.get("password"):
        # Never show the secret's value, only what is missing.
        raise ValueError(f'the secret {secret_id} of connection {connection_name} must be JSON with "username" and "password"')
    return str(secret["username"]), str(secret["password"])


def tls_properties(config: JobConfig, dirs: Iterable[Path]) -> dict[str, str]:
    """pgjdbc's TLS settings: the server's certificate and host name verified against the CA bundle.

    pgjdbc's default (sslmode=prefer) neither requires TLS nor verifies the server, and the Glue
    connection's JDBC_ENFORCE_SSL does not govern a hand-built spark.read.jdbc. The bundle reaches
    the driver's working directory through --extra-files and the executors' through addFile, so a
    bare file name resolves on both; from a checkout the absolute path is used (local mode only).
    """
    if config.ods_sslmode == "disable":
        return {"sslmode": "disable"}
    bundle = find_resource(config.ods_ssl_root_cert, dirs)
    in_working_dir = (Path.cwd() / config.ods_ssl_root_cert).resolve() == bundle.resolve()
    return {"sslmode": "verify-full", "sslrootcert": config.ods_ssl_root_cert if in_working_dir else str(bundle)}


def snapshot_import_statement(snapshot_id: str, schema: str) -> str:
    """What each partition's session runs first (Spark's sessionInitStatement): join the driver's snapshot.

    BEGIN first: whatever pgjdbc's autocommit state when Spark runs it, the read that follows is in
    this REPEATABLE READ READ ONLY transaction (a second BEGIN from the driver is only a warning).
    The model's schema is the only one searched: sql/read_window.sql names the tables unqualified.
    """
    if not _SNAPSHOT_ID.match(snapshot_id):
        raise ValueError(f"unexpected snapshot id from pg_export_snapshot(): {snapshot_id!r}")
    return (
        f"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{snapshot_id}'; "
        f"SET LOCAL search_path TO {quote_ident(schema)}"
    )


# --- what is computed and written ---------------------------------------------------------------


def extract_window_sql(config: JobConfig) -> str:
    """The one-row extract_window relation, as local/engine/extract-sql.ts extractWindowSql builds it.

    The dates are validated, so inlining them as literals is safe.
    """
    return f"""SELECT CAST('{config.month}' AS VARCHAR(7)) AS month,
    CAST('{config.window_start.isoformat()}' AS DATE) AS window_start,
    CAST('{config.month_start.isoformat()}' AS DATE) AS month_start,
    CAST('{config.window_end.isoformat()}' AS DATE) AS window_end"""


def check_extract_columns(columns: Sequence[str], layout: Mapping[str, Any]) -> None:
    expected = ["bank_id", *layout["columns"]]
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
        # univocity's default comment character is '#', and its writer quotes a first field that
        # starts with it ("#1 Bank" -> "\"#1 Bank\""); NUL turns comments off, so no such quoting.
        "comment": "\u0000",
    }


# --- Spark-only ---------------------------------------------------------------------------------


class ExportedSnapshot:
    """A REPEATABLE READ READ ONLY transaction on the driver, held open while the partitions read.

    Spark's JDBC partitions are separate sessions; each imports this transaction's snapshot
    (pg_export_snapshot / SET TRANSACTION SNAPSHOT), so every table and partition sees one moment of
    the ODS, as the local engine's single transaction does. A snapshot can only be imported on the
    server that exported it: the connection must name one instance, not a load-balanced endpoint
    (an import elsewhere fails the run, it never reads another moment).
    """

    def __init__(self, spark: Any, url: str, properties: Mapping[str, str], schema: str):
        jvm = spark.sparkContext._jvm
        java_properties = jvm.java.util.Properties()
        for key, value in properties.items():
            java_properties.setProperty(key, value)
        # The driver class directly: DriverManager does not see jars added to Spark's class loader.
        self._connection = jvm.org.postgresql.Driver().connect(url, java_properties)
        if self._connection is None:
            raise ValueError("the Glue connection's JDBC URL is not a PostgreSQL URL")
        try:
            self._connection.setAutoCommit(False)
            self._execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            self.snapshot_id = self._query_row("SELECT pg_export_snapshot()")[0]
            self.session_init_statement = snapshot_import_statement(self.snapshot_id, schema)
        except Exception:
            self.close()
            raise

    def id_bounds(self, schema: str, table: SourceTable) -> tuple[int | None, int | None]:
        lowest, highest = self._query_row(id_bounds_query(schema, table))
        return lowest, highest

    def close(self) -> None:
        try:
            self._connection.rollback()
        finally:
            self._connection.close()

    def __enter__(self) -> "ExportedSnapshot":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _execute(self, sql: str) -> None:
        statement = self._connection.createStatement()
        try:
            statement.execute(sql)
        finally:
            statement.close()

    def _query_row(self, sql: str) -> list[Any]:
        statement = self._connection.createStatement()
        try:
            result = statement.executeQuery(sql)
            if not result.next():
                raise ValueError(f"no row from {sql}")
            count = result.getMetaData().getColumnCount()
            # getObject: py4j turns Java Integer/Long/String into Python values, NULL into None.
            return [result.getObject(i) for i in range(1, count + 1)]
        finally:
            statement.close()


def cache_source_view(df: Any, table: SourceTable) -> int:
    """Checks, caches and counts one source relation as a temp view of its name; returns its rows.

    Cached (memory and disk) and counted while the snapshot is held, so the SQL reuses these rows;
    a lost cache block would re-read with the released snapshot and fail the run, never mix moments.
    """
    check_source_types(table, df.dtypes)
    df = df.cache()
    count = df.count()
    df.createOrReplaceTempView(table.name)
    return count


def read_source(
    spark: Any, url: str, properties: dict[str, str], model: Mapping[str, Any], read_sql: str, config: JobConfig, snapshot: ExportedSnapshot
) -> list[tuple[str, int]]:
    """Reads what the month references into cached temp views of the tables' names; returns the rows per table.

    bank and branch whole, split by id ranges; loans, account and client through the window read
    (one JDBC read pushed down to PostgreSQL), then rebuilt from it.
    """
    schema = model["schema"]
    counts: dict[str, int] = {}
    tables = source_tables(model)
    for table in tables:
        if table.read_through_window:
            continue
        lowest, highest = snapshot.id_bounds(schema, table)
        predicates = id_range_predicates(table.columns[0][0], lowest, highest, config.read_partitions)
        df = spark.read.jdbc(url=url, table=source_query(schema, table), predicates=predicates, properties=properties)
        counts[table.name] = cache_source_view(df, table)
        LOG.info("read %d rows from %s.%s in %d partitions", counts[table.name], schema, table.name, len(predicates))
    windowed = next(t for t in tables if t.window_column)
    predicates = window_read_predicates(windowed.window_column)
    df = spark.read.jdbc(url=url, table=window_read_query(read_sql, config), predicates=predicates, properties=properties)
    rows = cache_source_view(df, window_read_table(model))
    LOG.info("read %d rows from %s.%s in %d partitions", rows, schema, WINDOW_READ_VIEW, len(predicates))
    for table in tables:
        if table.read_through_window:
            counts[table.name] = cache_source_view(spark.sql(rebuild_from_window_read_sql(table)), table)
            LOG.info("read %d rows from %s.%s in the window read", counts[table.name], schema, table.name)
    return [(table.name, counts[table.name]) for table in tables]


def write_analytics_parquet(rows: Any, path: str) -> None:
    """The same rows as Parquet, for the analysts' Athena table: analytics/bank_id=<id>/part-*.parquet.

    Athena's CSV SerDes cannot read a line break inside a quoted field (which the contract allows in
    addresses) nor decimal(20,2); Parquet keeps both, and NULL stays NULL. One part per bank in
    branch_id order, as for the CSV; branch_id as BIGINT (INT64) whatever the ODS column's width, so
    the schema is the local engine's; snappy, Spark's default, named explicitly.
    """
    (
        rows.withColumn("branch_id", rows["branch_id"].cast("bigint"))
        .repartition("bank_id")
        .sortWithinPartitions("bank_id", "branch_id")
        .write.mode("overwrite")
        .partitionBy("bank_id")
        .option("compression", "snappy")
        .parquet(path)
    )


def write_json_lines(df: Any, path: str) -> None:
    df.coalesce(1).write.mode("overwrite").option("compression", "none").json(path)


def boto3_client(service: str) -> Any:
    import boto3  # Glue ships boto3; imported only when a secret must be read.

    return boto3.client(service)


def main(argv: Sequence[str] | None = None) -> None:
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    argv = list(sys.argv if argv is None else argv)
    raw = getResolvedOptions(argv, resolved_option_names(argv))
    config = validate_args(raw)
    dirs = resource_dirs()
    layout = load_layout(dirs)
    paths = staging_paths(config.staging_path, layout)
    model = load_source_model(dirs)
    branch_sql, rejected_sql = (load_sql(name, dirs) for name in SQL_FILES)
    read_sql = load_sql(model["windowRead"]["sql"], dirs)
    tls = tls_properties(config, dirs)

    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(config.job_name, raw)
    # Integer overflow fails the run instead of wrapping into a wrong sum.
    spark.conf.set("spark.sql.ansi.enabled", "true")
    LOG.info(
        "run %s: month %s, window [%s, %s), staging %s, connection %s, %d read partitions, TLS %s",
        config.run_id, config.month, config.window_start, config.window_end,
        config.staging_path, config.connection_name, config.read_partitions, config.ods_sslmode,
    )
    if "sslrootcert" in tls:
        # Executors open their own connections: the bundle goes to their working directory too.
        spark.sparkContext.addFile(str(find_resource(config.ods_ssl_root_cert, dirs)))

    jdbc_conf = glue_context.extract_jdbc_conf(config.connection_name)
    user, password = connection_credentials(
        jdbc_conf, config.connection_name, lambda: boto3_client("glue"), lambda: boto3_client("secretsmanager")
    )
    url = jdbc_url(jdbc_conf)
    login = {"user": user, "password": password, **tls}
    schema = model["schema"]
    with ExportedSnapshot(spark, url, login, schema) as snapshot:
        LOG.info("reading the ODS in snapshot %s", snapshot.snapshot_id)
        properties = {
            **login,
            "driver": "org.postgresql.Driver",
            "fetchsize": str(FETCH_SIZE),
            "sessionInitStatement": snapshot.session_init_statement,
        }
        source_rows = read_source(spark, url, properties, model, read_sql, config, snapshot)

    spark.sql(extract_window_sql(config)).createOrReplaceTempView("extract_window")
    rows = spark.sql(branch_sql)
    check_extract_columns(rows.columns, layout)
    rows = rows.cache()

    per_bank = rows.groupBy("bank_id").count().orderBy("bank_id").collect()
    LOG.info("writing %d rows: %s", sum(r["count"] for r in per_bank), ", ".join(f"bank {r.bank_id}: {r['count']}" for r in per_bank))
    # One part per bank, rows in branch_id order: repartition puts each bank in one partition, and
    # sorting by bank_id too matches the order partitionBy needs (else Spark 3.4+ plans its own sort
    # by bank_id on top and drops the branch_id order).
    (
        rows.repartition("bank_id")
        .sortWithinPartitions("bank_id", "branch_id")
        .write.mode("overwrite")
        .partitionBy("bank_id")
        .options(**csv_writer_options())
        .csv(paths["rows"])
    )
    write_analytics_parquet(rows, paths["analytics"])

    rejected = spark.sql(rejected_sql).cache()
    rejected_counts = rejected.collect()
    LOG.info("rejected loans: %s", ", ".join(f"{r.reason}: {r.loan_count}" for r in rejected_counts) or "none")
    write_json_lines(rejected, paths["rejected"])
    write_json_lines(spark.sql(BANKS_SQL), paths["banks"])
    write_json_lines(spark.createDataFrame(source_rows, "`table` STRING, row_count BIGINT"), paths["sourceRows"])
    LOG.info("staged under %s", config.staging_path)
    job.commit()


if __name__ == "__main__":
    main()
