"""Any monthly extract as an AWS Glue 5.1 job (Spark 3.5.6, Python 3.11, Java 17).

A thin driver around an extract's folder (extracts/<id>/: extract.json and its SQL, which reach the
job through --extra-files; --extract_id names the one this job runs). It reads only what the month
references from the ODS over JDBC (with a definition's source.windowRead: the windowed table and
the rows it references, resolved in PostgreSQL by that SQL; every other table whole), all
partitions in one exported snapshot, over verified TLS; runs the extract's SQL with Spark SQL and
writes the staging layout of functions/core/staging-layout.ts, byte for byte what
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
    "extract_id",
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

# The name the window read is cached under before its tables are rebuilt from it.
WINDOW_READ_VIEW = "window_read"
DEFINITION_FILE = "extract.json"
LAYOUT_FILE = "extract-layout.json"
# What a definition's sql.entities returns, in order: one line of entities/ per row.
ENTITY_COLUMNS = ["id", "name"]

# Spark's JDBC column types accepted for each type family of a definition's source columns
# (glue/extract-layout.json's sourceTypeFamilies lists the information_schema types of the same families).
SPARK_TYPE_FAMILIES = {
    "integer": ("smallint", "int", "bigint"),
    "text": ("string",),
    "date": ("date",),
}

# As functions/core/extract-definition.ts checks an id: lower-case words joined by single dashes.
_EXTRACT_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
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
    extract_id: str
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

    extract_id = raw["extract_id"].strip()
    if not _EXTRACT_ID.match(extract_id):
        raise ValueError(f'--extract_id must be an extract id (lower-case words joined by "-"), got "{extract_id}"')
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
        extract_id=extract_id,
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
    """Glue copies --extra-files to the working directory, side by side whatever their folder was;
    from a checkout the shared files (extract-layout.json, the CA bundle) sit next to this file. An
    extract's files are only ever in the working directory (the local runner copies them there too)."""
    here = Path(__file__).resolve().parent
    dirs: list[Path] = []
    for candidate in (here, Path.cwd()):
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


def load_definition(extract_id: str, dirs: Iterable[Path]) -> dict[str, Any]:
    """The extract's extract.json, which must be the one --extract_id names.

    Packaging checked the definition whole (functions/core/extract-definition.ts); the job only
    makes sure it was given the right one, so a job can never run another extract's SQL.
    """
    path = find_resource(DEFINITION_FILE, dirs)
    definition = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(definition, dict) or definition.get("id") != extract_id:
        found = definition.get("id") if isinstance(definition, dict) else None
        raise ValueError(f"{path} is the definition of extract {found!r}, but --extract_id is {extract_id!r}")
    return definition


def sql_file_name(relative_path: str) -> str:
    """A definition's SQL file as --extra-files delivers it: by its base name (Glue flattens folders)."""
    return Path(relative_path).name


@dataclass(frozen=True)
class ExtractSql:
    rows: str
    entities: str
    rejected: str | None
    window_read: str | None


def load_extract_sql(definition: Mapping[str, Any], dirs: Iterable[Path]) -> ExtractSql:
    dirs = list(dirs)
    files = definition["sql"]
    window_read = definition["source"].get("windowRead")
    return ExtractSql(
        rows=load_sql(sql_file_name(files["rows"]), dirs),
        entities=load_sql(sql_file_name(files["entities"]), dirs),
        rejected=load_sql(sql_file_name(files["rejected"]), dirs) if files.get("rejected") else None,
        window_read=load_sql(sql_file_name(window_read["sql"]), dirs) if window_read else None,
    )


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


def whole_table_predicates(table: SourceTable, lowest: int | None, highest: int | None, parts: int) -> list[str] | None:
    """How a table read whole is split: by id ranges on its first column when that is an integer
    (see id_range_predicates), else not at all (None: one partition)."""
    if table.columns[0][1] != "integer":
        return None
    return id_range_predicates(table.columns[0][0], lowest, highest, parts)


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
    """The JDBC `dbtable` of the window read: the definition's source.windowRead.sql over the month's extract_window.

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
    """Spark SQL that rebuilds one table of the window read (the definition's source says how), as
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
    """Fails, naming table.column, if Spark read a column with another type family than the definition's source says."""
    found = dict(dtypes)
    problems = []
    for column, family in table.columns:
        dtype = found.get(column)
        accepted = SPARK_TYPE_FAMILIES[family]
        if dtype is None or not (dtype in accepted or (family == "text" and is_text_dtype(dtype))):
            problems.append(f"{table.name}.{column} is {dtype or 'missing'}; the extract needs {family} ({', '.join(accepted)})")
    if problems:
        raise ValueError(f"the ODS does not match the extract's source model: {'; '.join(problems)}")


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
    The model's schema is the only one searched: the extract's SQL names the tables unqualified.
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


def check_extract_columns(columns: Sequence[str], definition: Mapping[str, Any]) -> None:
    """The rows query returns the split entity's id, then the output columns in order."""
    output = definition["output"]
    expected = [output["splitBy"]["idColumn"], *(c["name"] for c in output["columns"])]
    if list(columns) != expected:
        raise ValueError(
            f"{definition['sql']['rows']} of extract {definition['id']} returns columns {', '.join(columns)}; "
            f"its definition needs {', '.join(expected)}"
        )


def check_entity_ids(rows_per_id: Sequence[tuple[Any, int]], definition: Mapping[str, Any]) -> None:
    """A row without the split entity's id would belong to no file (Spark would stage it under
    __HIVE_DEFAULT_PARTITION__): the run fails, as the local engine's does."""
    without_id = sum(count for entity_id, count in rows_per_id if entity_id is None)
    if without_id:
        id_column = definition["output"]["splitBy"]["idColumn"]
        raise ValueError(f"{definition['sql']['rows']} of extract {definition['id']} returns {without_id} rows with a NULL {id_column}")


def check_entity_columns(columns: Sequence[str], definition: Mapping[str, Any]) -> None:
    if list(columns) != ENTITY_COLUMNS:
        raise ValueError(
            f"{definition['sql']['entities']} of extract {definition['id']} returns columns {', '.join(columns)}; "
            f"it must return {', '.join(ENTITY_COLUMNS)}"
        )


# Spark types of the analytics/ Parquet copy per output column type, as local/engine/extract-job.ts
# PARQUET_TYPES: ids and counts INT64 whatever the ODS column's width, the average DECIMAL(20,2);
# text, month and date columns keep the type the SQL gives them.
PARQUET_CASTS = {"integer": "bigint", "count": "bigint", "decimal2": "decimal(20,2)"}


def analytics_casts(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(column, Spark type) for each output column the Parquet copy casts."""
    return [(c["name"], PARQUET_CASTS[c["type"]]) for c in definition["output"]["columns"] if c["type"] in PARQUET_CASTS]


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
    spark: Any,
    url: str,
    properties: dict[str, str],
    model: Mapping[str, Any],
    read_sql: str | None,
    config: JobConfig,
    snapshot: ExportedSnapshot,
) -> list[tuple[str, int]]:
    """Reads what the month references into cached temp views of the tables' names; returns the rows per table.

    Tables read whole are split by id ranges (the loan extract's bank and branch; every table of a
    model without a window read); with a window read (read_sql), the tables it serves arrive through
    one JDBC read pushed down to PostgreSQL and are rebuilt from it.
    """
    schema = model["schema"]
    counts: dict[str, int] = {}
    tables = source_tables(model)
    through_window = read_sql is not None
    for table in tables:
        if through_window and table.read_through_window:
            continue
        lowest, highest = snapshot.id_bounds(schema, table) if table.columns[0][1] == "integer" else (None, None)
        predicates = whole_table_predicates(table, lowest, highest, config.read_partitions)
        if predicates is None:
            df = spark.read.jdbc(url=url, table=source_query(schema, table), properties=properties)
        else:
            df = spark.read.jdbc(url=url, table=source_query(schema, table), predicates=predicates, properties=properties)
        counts[table.name] = cache_source_view(df, table)
        LOG.info("read %d rows from %s.%s in %d partitions", counts[table.name], schema, table.name, len(predicates or [None]))
    if not through_window:
        return [(table.name, counts[table.name]) for table in tables]
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


def write_rows_csv(rows: Any, definition: Mapping[str, Any], path: str) -> None:
    """rows/<idColumn>=<id>/part-*.csv: one part per entity, rows in output.orderBy order.

    repartition puts each entity in one partition, and sorting by the id column too matches the order
    partitionBy needs (else Spark 3.4+ plans its own sort by the id on top and drops the orderBy order).
    """
    id_column, order_by = definition["output"]["splitBy"]["idColumn"], definition["output"]["orderBy"]
    (
        rows.repartition(id_column)
        .sortWithinPartitions(id_column, order_by)
        .write.mode("overwrite")
        .partitionBy(id_column)
        .options(**csv_writer_options())
        .csv(path)
    )


def write_analytics_parquet(rows: Any, definition: Mapping[str, Any], path: str) -> None:
    """The same rows as Parquet, for the analysts' Athena table: analytics/<idColumn>=<id>/part-*.parquet.

    Athena's CSV SerDes cannot read a line break inside a quoted field (which the contract allows in
    addresses) nor decimal(20,2); Parquet keeps both, and NULL stays NULL. One part per entity in
    orderBy order, as for the CSV; integer and count columns as BIGINT (INT64) whatever the ODS
    column's width, so the schema is the local engine's; snappy, Spark's default, named explicitly.
    """
    id_column, order_by = definition["output"]["splitBy"]["idColumn"], definition["output"]["orderBy"]
    for column, spark_type in analytics_casts(definition):
        rows = rows.withColumn(column, rows[column].cast(spark_type))
    (
        rows.repartition(id_column)
        .sortWithinPartitions(id_column, order_by)
        .write.mode("overwrite")
        .partitionBy(id_column)
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
    definition = load_definition(config.extract_id, dirs)
    model = definition["source"]
    sql = load_extract_sql(definition, dirs)
    output = definition["output"]
    id_column = output["splitBy"]["idColumn"]
    tls = tls_properties(config, dirs)

    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(config.job_name, raw)
    # Integer overflow fails the run instead of wrapping into a wrong sum.
    spark.conf.set("spark.sql.ansi.enabled", "true")
    LOG.info(
        "extract %s, run %s: month %s, window [%s, %s), staging %s, connection %s, %d read partitions, TLS %s",
        config.extract_id, config.run_id, config.month, config.window_start, config.window_end,
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
        source_rows = read_source(spark, url, properties, model, sql.window_read, config, snapshot)

    spark.sql(extract_window_sql(config)).createOrReplaceTempView("extract_window")
    rows = spark.sql(sql.rows)
    check_extract_columns(rows.columns, definition)
    entities = spark.sql(sql.entities)
    check_entity_columns(entities.columns, definition)
    rows = rows.cache()

    per_entity = rows.groupBy(id_column).count().orderBy(id_column).collect()
    check_entity_ids([(r[id_column], r["count"]) for r in per_entity], definition)
    LOG.info(
        "writing %d rows: %s",
        sum(r["count"] for r in per_entity),
        ", ".join(f"{output['splitBy']['entity']} {r[id_column]}: {r['count']}" for r in per_entity),
    )
    write_rows_csv(rows, definition, paths["rows"])
    if output["keys"].get("analytics"):
        write_analytics_parquet(rows, definition, paths["analytics"])

    # Without sql.rejected nothing is staged under rejected/: the publish step reads no folder as no rejections.
    if sql.rejected is not None:
        rejected = spark.sql(sql.rejected).cache()
        rejected_counts = rejected.collect()
        LOG.info("rejected: %s", ", ".join(f"{r.reason}: {r.row_count}" for r in rejected_counts) or "none")
        write_json_lines(rejected, paths["rejected"])
    # A NULL name as '' (the local engine does the same): Spark's JSON writer would drop the field.
    write_json_lines(entities.selectExpr("id", "COALESCE(CAST(name AS STRING), '') AS name"), paths["entities"])
    write_json_lines(spark.createDataFrame(source_rows, "`table` STRING, row_count BIGINT"), paths["sourceRows"])
    LOG.info("staged under %s", config.staging_path)
    job.commit()


if __name__ == "__main__":
    main()
