"""The pure parts of glue/etl.py: no Spark, no database. What Spark does with them is proved on a real
Spark by test_etl_spark.py and test/integration/spark-engine.test.ts.

Run from the repository root: python3 -m unittest discover -s glue/tests -t . -v
"""
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import unittest
from datetime import date, timedelta
from pathlib import Path

from glue import etl

REPO = Path(__file__).resolve().parents[2]
GLUE = REPO / "glue"
LOAN = REPO / "extracts" / "loan-moving-average"
# The second extract (split by branch, tables read whole, no rejected SQL, no analytics).
CLIENT_ACTIVITY = REPO / "test" / "fixtures" / "extracts" / "client-activity"


def definition_of(folder: Path) -> dict:
    return json.loads((folder / "extract.json").read_text(encoding="utf-8"))


def flat_copy(folder: Path, into: Path) -> None:
    """An extract folder's files side by side, as Glue puts --extra-files in the job's working directory."""
    for path in folder.rglob("*"):
        if path.is_file():
            (into / path.name).write_bytes(path.read_bytes())


def valid_args(**overrides):
    args = {
        "JOB_NAME": "monthly-extract-dev",
        "extract_id": "loan-moving-average",
        "month": "2024-03",
        "window_start": "2024-01-01",
        "month_start": "2024-03-01",
        "window_end": "2024-04-01",
        "staging_path": "s3://extract-staging-dev/runs/2024-03/abc123/",
        "run_id": "abc123",
        "connection_name": "ods-reader",
    }
    args.update(overrides)
    return args


class ImportTest(unittest.TestCase):
    def test_module_imports_without_spark(self):
        # In a fresh interpreter: other test modules of this run may have loaded pyspark.
        check = "import sys; from glue import etl; print(sorted({'pyspark', 'awsglue', 'boto3'} & set(sys.modules)))"
        result = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, check=True)
        self.assertEqual(result.stdout.strip(), "[]")


class ValidateArgsTest(unittest.TestCase):
    def assert_rejected(self, argument, **overrides):
        with self.assertRaises(ValueError) as caught:
            etl.validate_args(valid_args(**overrides))
        self.assertIn(f"--{argument}", str(caught.exception))

    def test_accepts_a_consistent_window(self):
        config = etl.validate_args(valid_args())
        self.assertEqual(config.month, "2024-03")
        self.assertEqual(config.window_start, date(2024, 1, 1))
        self.assertEqual(config.month_start, date(2024, 3, 1))
        self.assertEqual(config.window_end, date(2024, 4, 1))
        self.assertEqual(config.read_partitions, int(etl.OPTIONAL_ARGS["read_partitions"]))
        self.assertEqual((config.ods_sslmode, config.ods_ssl_root_cert), ("verify-full", "rds-ca-bundle.pem"))

    def test_extract_id(self):
        self.assertEqual(etl.validate_args(valid_args(extract_id="client-activity")).extract_id, "client-activity")
        for value in ("Loan", "loan_moving", "-loan", "loan--x", "../x"):
            with self.subTest(value=value):
                self.assert_rejected("extract_id", extract_id=value)

    def test_accepts_a_window_across_the_year_boundary(self):
        config = etl.validate_args(
            valid_args(month="2024-01", window_start="2023-11-01", month_start="2024-01-01", window_end="2024-02-01")
        )
        self.assertEqual(config.window_start, date(2023, 11, 1))

    def test_rejects_bad_months(self):
        for month in ("2024-13", "2024-00", "2024-3", "March", "2024-03-01", ""):
            with self.subTest(month=month):
                self.assert_rejected("month", month=month)

    def test_rejects_dates_that_are_not_first_of_month(self):
        self.assert_rejected("window_start", window_start="2024-01-02")
        self.assert_rejected("month_start", month_start="2024-03-15")
        self.assert_rejected("window_end", window_end="2024-03-31")

    def test_rejects_dates_that_are_not_iso(self):
        self.assert_rejected("window_start", window_start="20240101")
        self.assert_rejected("month_start", month_start="2024-02-30")
        self.assert_rejected("window_end", window_end="01/04/2024")

    def test_rejects_an_inconsistent_window(self):
        self.assert_rejected("window_start", window_start="2024-03-01")
        self.assert_rejected("window_start", window_start="2024-05-01")
        self.assert_rejected("window_end", window_end="2024-03-01")
        self.assert_rejected("window_end", window_end="2024-02-01")
        self.assert_rejected("month", month="2024-02")

    def test_rejects_bad_staging_paths(self):
        for path in (
            "s3://extract-staging-dev/runs/abc123",
            "extract-staging-dev/runs/abc123/",
            "s3a://extract-staging-dev/runs/abc123/",
            "https://extract-staging-dev.s3.amazonaws.com/runs/",
            "s3:///runs/",
            "s3://extract-staging-dev/runs//abc123/",
            "/tmp/staging/",
            "s3://b/runs/",
            "s3://Extract-Staging/runs/",
        ):
            with self.subTest(path=path):
                self.assert_rejected("staging_path", staging_path=path)

    def test_accepts_a_local_folder_for_the_local_runner(self):
        self.assertEqual(etl.validate_args(valid_args(staging_path="file:///tmp/run-1/")).staging_path, "file:///tmp/run-1/")
        for path in ("file://tmp/run-1/", "file:///tmp/run-1", "file:///"):
            with self.subTest(path=path):
                self.assert_rejected("staging_path", staging_path=path)

    def test_tls_arguments(self):
        self.assertEqual(etl.validate_args(valid_args(ods_sslmode="disable")).ods_sslmode, "disable")
        for mode in ("prefer", "require", "verify-ca", ""):
            with self.subTest(mode=mode):
                self.assert_rejected("ods_sslmode", ods_sslmode=mode)
        self.assertEqual(etl.validate_args(valid_args(ods_ssl_root_cert="ca.pem")).ods_ssl_root_cert, "ca.pem")
        for name in ("../ca.pem", "/etc/ssl/ca.pem", "s3://b/ca.pem", ".hidden"):
            with self.subTest(name=name):
                self.assert_rejected("ods_ssl_root_cert", ods_ssl_root_cert=name)

    def test_accepts_a_bucket_root_staging_path(self):
        self.assertEqual(etl.validate_args(valid_args(staging_path="s3://bucket-1/")).staging_path, "s3://bucket-1/")

    def test_read_partitions(self):
        self.assertEqual(etl.validate_args(valid_args(read_partitions="16")).read_partitions, 16)
        for value in ("0", "-1", "eight", "1.5", str(etl.MAX_READ_PARTITIONS + 1)):
            with self.subTest(value=value):
                self.assert_rejected("read_partitions", read_partitions=value)

    def test_rejects_missing_or_empty_arguments(self):
        for name in etl.REQUIRED_ARGS:
            with self.subTest(name=name):
                args = valid_args()
                del args[name]
                with self.assertRaises(ValueError) as caught:
                    etl.validate_args(args)
                self.assertIn(f"--{name}", str(caught.exception))
        self.assert_rejected("connection_name", connection_name="  ")

    def test_optional_arguments_are_only_requested_when_passed(self):
        base = ["etl.py", "--JOB_NAME", "j", "--month", "2024-03"]
        for name in etl.OPTIONAL_ARGS:
            with self.subTest(name=name):
                self.assertNotIn(name, etl.resolved_option_names(base))
                self.assertIn(name, etl.resolved_option_names(base + [f"--{name}", "4"]))
                self.assertIn(name, etl.resolved_option_names(base + [f"--{name}=4"]))
        self.assertEqual(etl.resolved_option_names(base)[: len(etl.REQUIRED_ARGS)], list(etl.REQUIRED_ARGS))


class WindowReadTest(unittest.TestCase):
    def setUp(self):
        self.model = definition_of(LOAN)["source"]
        self.config = etl.validate_args(valid_args())

    def test_partitions_are_the_window_and_the_null_dates_each_row_in_one(self):
        predicates = etl.window_read_predicates("loan_date")
        self.assertEqual(predicates, ['"loan_date" IS NOT NULL', '"loan_date" IS NULL'])
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE window_read (loan_date TEXT)")
        db.executemany("INSERT INTO window_read VALUES (?)", [("2024-01-01",), ("2024-03-31",), (None,)])
        hits = [value for predicate in predicates for (value,) in db.execute(f"SELECT loan_date FROM window_read WHERE {predicate}")]
        self.assertEqual(sorted(hits, key=str), ["2024-01-01", "2024-03-31", None])

    def test_query_is_the_shared_file_over_the_months_window(self):
        read_sql = etl.load_sql(etl.sql_file_name(self.model["windowRead"]["sql"]), [LOAN / "sql"])
        query = etl.window_read_query(read_sql, self.config)
        self.assertTrue(query.startswith("(WITH extract_window AS (SELECT CAST('2024-03' AS VARCHAR(7)) AS month"), query)
        self.assertIn("CAST('2024-01-01' AS DATE) AS window_start", query)
        self.assertIn(read_sql, query)
        self.assertTrue(query.endswith(") AS window_read) AS window_read"), query)

    def test_tables_rebuilt_from_the_read_as_the_model_says(self):
        tables = {t.name: t for t in etl.source_tables(self.model)}
        self.assertEqual([n for n, t in tables.items() if t.read_through_window], ["client", "account", "loans"])
        self.assertEqual(
            etl.rebuild_from_window_read_sql(tables["loans"]),
            "SELECT `amount`, `account_idaccount`, `loan_date` FROM window_read",
        )
        self.assertEqual(
            etl.rebuild_from_window_read_sql(tables["account"]),
            "SELECT DISTINCT `account_idaccount` AS `idaccount`, `client_idclient` FROM window_read WHERE `account_idaccount` IS NOT NULL",
        )
        self.assertEqual(
            etl.rebuild_from_window_read_sql(tables["client"]),
            "SELECT DISTINCT `client_idclient` AS `idclient`, `branch_idbranch` FROM window_read WHERE `client_idclient` IS NOT NULL",
        )
        read_columns = set(self.model["windowRead"]["columns"])
        for table in tables.values():
            if table.read_through_window:
                with self.subTest(table=table.name):
                    needed = {c for c, _ in table.columns[1 if table.key_in_read else 0 :]} | ({table.key_in_read} if table.key_in_read else set())
                    self.assertLessEqual(needed, read_columns)


class IdRangePredicatesTest(unittest.TestCase):
    def test_shape(self):
        self.assertEqual(
            etl.id_range_predicates("idclient", 1, 100, 4),
            [
                '"idclient" >= 1 AND "idclient" < 26',
                '"idclient" >= 26 AND "idclient" < 51',
                '"idclient" >= 51 AND "idclient" < 76',
                '"idclient" >= 76 AND "idclient" < 101',
                '"idclient" IS NULL',
            ],
        )

    def test_an_empty_table_is_one_predicate(self):
        self.assertEqual(etl.id_range_predicates("idbank", None, None, 8), ['"idbank" IS NULL'])

    def test_every_id_in_exactly_one_predicate_when_run_as_sql(self):
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE client (idclient INTEGER)")
        ids = list(range(-25, 26)) + [2_147_483_647, -2_147_483_648]
        db.executemany("INSERT INTO client VALUES (?)", [(i,) for i in ids] + [(None,)])
        for parts in (1, 3, 8, 64):
            with self.subTest(parts=parts):
                hits = {}
                for predicate in etl.id_range_predicates("idclient", min(ids), max(ids), parts):
                    for (value,) in db.execute(f"SELECT idclient FROM client WHERE {predicate}"):
                        hits[value] = hits.get(value, 0) + 1
                self.assertEqual(sorted(hits, key=lambda v: (v is not None, v or 0)), [None] + sorted(ids))
                self.assertEqual(set(hits.values()), {1})

    def test_more_partitions_than_ids(self):
        self.assertEqual(len(etl.id_range_predicates("idbank", 7, 9, 64)), 3 + 1)

    def test_rejects_nonsense(self):
        with self.assertRaises(ValueError):
            etl.id_range_predicates("idbank", 1, 9, 0)
        with self.assertRaises(ValueError):
            etl.id_range_predicates("idbank", 9, 1, 8)


class SourceModelTest(unittest.TestCase):
    def setUp(self):
        self.model = definition_of(LOAN)["source"]
        self.tables = {t.name: t for t in etl.source_tables(self.model)}
        self.config = etl.validate_args(valid_args())

    def test_select_lists_match_source_model(self):
        self.assertEqual(list(self.tables), list(self.model["tables"]))
        for name, spec in self.model["tables"].items():
            with self.subTest(table=name):
                query = etl.source_query(self.model["schema"], self.tables[name])
                match = re.fullmatch(r'\(SELECT (.+) FROM "public"\."(\w+)"\) AS "(\w+)"', query)
                self.assertIsNotNone(match, query)
                self.assertEqual(match.group(1).split(", "), [f'"{c}"' for c in spec["columns"]])
                self.assertEqual((match.group(2), match.group(3)), (name, name))

    def test_whole_tables_split_by_id(self):
        for name in ("bank", "branch"):
            with self.subTest(table=name):
                self.assertFalse(self.tables[name].read_through_window)
                first = next(iter(self.model["tables"][name]["columns"]))
                self.assertEqual(
                    etl.id_bounds_query("public", self.tables[name]),
                    f'SELECT min("{first}"), max("{first}") FROM "public"."{name}"',
                )

    def test_a_table_read_whole_splits_on_an_integer_first_column_only(self):
        self.assertEqual(
            etl.whole_table_predicates(self.tables["branch"], 1, 4, 2),
            ['"idbranch" >= 1 AND "idbranch" < 3', '"idbranch" >= 3 AND "idbranch" < 5', '"idbranch" IS NULL'],
        )
        by_name = etl.SourceTable(name="code", columns=(("label", "text"), ("idcode", "integer")))
        self.assertIsNone(etl.whole_table_predicates(by_name, None, None, 8))

    def test_a_model_without_a_window_read_reads_every_table_whole(self):
        tables = etl.source_tables(definition_of(CLIENT_ACTIVITY)["source"])
        self.assertEqual([t.name for t in tables], ["branch", "client", "account", "loans"])
        self.assertFalse(any(t.read_through_window for t in tables))

    def test_type_families_are_the_layout_s(self):
        # glue/extract-layout.json's sourceTypeFamilies (information_schema) and Spark's dtypes name the same families.
        layout = etl.load_layout([GLUE])
        self.assertEqual(sorted(etl.SPARK_TYPE_FAMILIES), sorted(layout["sourceTypeFamilies"]))

    def test_source_types_checked_per_family(self):
        loans = self.tables["loans"]
        etl.check_source_types(loans, [("amount", "int"), ("account_idaccount", "bigint"), ("loan_date", "date")])
        with self.assertRaisesRegex(ValueError, r"loans\.loan_date is string"):
            etl.check_source_types(loans, [("amount", "int"), ("account_idaccount", "int"), ("loan_date", "string")])
        with self.assertRaisesRegex(ValueError, r"loans\.amount is missing"):
            etl.check_source_types(loans, [("account_idaccount", "int"), ("loan_date", "date")])
        etl.check_source_types(self.tables["bank"], [("idbank", "int"), ("name", "varchar(100)")])
        with self.assertRaisesRegex(ValueError, r"bank\.idbank is varchar\(10\)"):
            etl.check_source_types(self.tables["bank"], [("idbank", "varchar(10)"), ("name", "string")])


class JdbcUrlTest(unittest.TestCase):
    def test_prefers_full_url(self):
        conf = {"url": "jdbc:postgresql://h:5432", "fullUrl": "jdbc:postgresql://h:5432/ods", "user": "u", "password": "p"}
        self.assertEqual(etl.jdbc_url(conf), "jdbc:postgresql://h:5432/ods")

    def test_url_with_database_is_enough(self):
        self.assertEqual(etl.jdbc_url({"url": "jdbc:postgresql://h:5432/ods"}), "jdbc:postgresql://h:5432/ods")

    def test_no_database_fails_without_showing_the_password(self):
        with self.assertRaises(ValueError) as caught:
            etl.jdbc_url({"url": "jdbc:postgresql://h:5432", "user": "u", "password": "s3cret-pw"})
        self.assertNotIn("s3cret-pw", str(caught.exception))
        self.assertIn("password", str(caught.exception))


class StubClient:
    """A boto3 client stand-in: answers each call from a table and records it."""

    def __init__(self, **answers):
        self.answers, self.calls = answers, []

    def __getattr__(self, operation):
        def call(**request):
            self.calls.append((operation, request))
            answer = self.answers[operation]
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


class ConnectionCredentialsTest(unittest.TestCase):
    SECRET = "pw-from-the-secret"

    def clients(self, secret_string):
        glue = StubClient(get_connection={"Connection": {"ConnectionProperties": {"SECRET_ID": "arn:secret:ods", "JDBC_CONNECTION_URL": "jdbc:postgresql://h/ods"}}})
        secrets = StubClient(get_secret_value={"SecretString": secret_string})
        return glue, secrets

    def test_uses_the_connection_s_login_when_it_gives_one(self):
        glue, secrets = self.clients("{}")
        conf = {"user": "etl", "password": "pw"}
        self.assertEqual(etl.connection_credentials(conf, "ods", lambda: glue, lambda: secrets), ("etl", "pw"))
        self.assertEqual((glue.calls, secrets.calls), ([], []))

    def test_reads_the_secret_the_connection_names_when_it_gives_none(self):
        glue, secrets = self.clients(json.dumps({"username": "loan_extract_reader", "password": self.SECRET, "host": "h"}))
        user, password = etl.connection_credentials({"url": "jdbc:postgresql://h/ods"}, "ods", lambda: glue, lambda: secrets)
        self.assertEqual((user, password), ("loan_extract_reader", self.SECRET))
        self.assertEqual(glue.calls, [("get_connection", {"Name": "ods", "HidePassword": True})])
        self.assertEqual(secrets.calls, [("get_secret_value", {"SecretId": "arn:secret:ods"})])

    def test_a_secret_without_a_login_fails_without_showing_it(self):
        for text in (json.dumps({"username": "u"}), "not json " + self.SECRET, json.dumps(["x", self.SECRET])):
            with self.subTest(text=text[:12]):
                glue, secrets = self.clients(text)
                with self.assertRaises(ValueError) as caught:
                    etl.connection_credentials({}, "ods", lambda: glue, lambda: secrets)
                self.assertIn("arn:secret:ods", str(caught.exception))
                self.assertNotIn(self.SECRET, str(caught.exception))

    def test_a_connection_with_neither_login_nor_secret_fails(self):
        glue = StubClient(get_connection={"Connection": {"ConnectionProperties": {}}})
        with self.assertRaisesRegex(ValueError, "names no SECRET_ID"):
            etl.connection_credentials({}, "ods", lambda: glue, lambda: None)


class TlsPropertiesTest(unittest.TestCase):
    def test_verify_full_against_the_bundle_shipped_with_the_job(self):
        config = etl.validate_args(valid_args())
        properties = etl.tls_properties(config, [GLUE])
        self.assertEqual(properties["sslmode"], "verify-full")
        self.assertEqual(Path(properties["sslrootcert"]).name, "rds-ca-bundle.pem")
        self.assertTrue(Path(properties["sslrootcert"]).is_file() or (Path.cwd() / properties["sslrootcert"]).is_file())

    def test_a_bundle_in_the_working_directory_is_named_by_file_name(self):
        # Where Glue puts --extra-files on the driver, and addFile on the executors: a bare name resolves on both.
        with tempfile.TemporaryDirectory() as work:
            (Path(work) / "rds-ca-bundle.pem").write_text("x", encoding="utf-8")
            previous = Path.cwd()
            os.chdir(work)
            try:
                properties = etl.tls_properties(etl.validate_args(valid_args()), [Path(work), GLUE])
            finally:
                os.chdir(previous)
        self.assertEqual(properties, {"sslmode": "verify-full", "sslrootcert": "rds-ca-bundle.pem"})

    def test_a_missing_bundle_fails_naming_extra_files(self):
        with tempfile.TemporaryDirectory() as empty:
            with self.assertRaisesRegex(FileNotFoundError, "--extra-files"):
                etl.tls_properties(etl.validate_args(valid_args(ods_ssl_root_cert="other.pem")), [Path(empty)])

    def test_disable_is_explicit(self):
        self.assertEqual(etl.tls_properties(etl.validate_args(valid_args(ods_sslmode="disable")), []), {"sslmode": "disable"})


class SnapshotImportTest(unittest.TestCase):
    def test_joins_the_exported_snapshot_in_a_read_only_repeatable_read_transaction(self):
        self.assertEqual(
            etl.snapshot_import_statement("00000003-0000002C-1", "public"),
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '00000003-0000002C-1'; "
            'SET LOCAL search_path TO "public"',
        )

    def test_refuses_anything_else_in_the_sql(self):
        for snapshot in ("", "x'; DROP TABLE loans; --", "00000003-0000002C-1'"):
            with self.subTest(snapshot=snapshot):
                with self.assertRaises(ValueError):
                    etl.snapshot_import_statement(snapshot, "public")


class SqlLoadingTest(unittest.TestCase):
    def test_strips_a_trailing_semicolon(self):
        self.assertEqual(etl.strip_sql("SELECT 1;\n"), "SELECT 1")
        self.assertEqual(etl.strip_sql("  SELECT 1 ;  "), "SELECT 1 ")
        self.assertEqual(etl.strip_sql("SELECT ';' AS s"), "SELECT ';' AS s")

    def test_loads_from_the_first_directory_holding_the_file(self):
        with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as full:
            (Path(full) / "branch_loans_3m.sql").write_text("-- c\nSELECT 1 AS x;\n", encoding="utf-8")
            self.assertEqual(etl.load_sql("branch_loans_3m.sql", [Path(empty), Path(full)]), "-- c\nSELECT 1 AS x")

    def test_missing_file_names_extra_files(self):
        with tempfile.TemporaryDirectory() as empty:
            with self.assertRaisesRegex(FileNotFoundError, "--extra-files"):
                etl.load_sql("rejected_loans.sql", [Path(empty)])

    def test_the_shared_files_are_found_from_a_checkout(self):
        dirs = etl.resource_dirs()
        self.assertEqual(etl.find_resource("extract-layout.json", dirs), GLUE / "extract-layout.json")
        self.assertEqual(etl.find_resource("rds-ca-bundle.pem", dirs), GLUE / "rds-ca-bundle.pem")


class DefinitionTest(unittest.TestCase):
    """The extract's files as Glue delivers them: flat in the working directory."""

    def setUp(self):
        self.work = tempfile.TemporaryDirectory()
        self.addCleanup(self.work.cleanup)
        self.dir = Path(self.work.name)

    def test_loads_the_loan_extract_and_its_sql_by_base_name(self):
        flat_copy(LOAN, self.dir)
        definition = etl.load_definition("loan-moving-average", [GLUE, self.dir])
        self.assertEqual(definition, definition_of(LOAN))
        sql = etl.load_extract_sql(definition, [GLUE, self.dir])
        self.assertEqual(sql.rows, etl.strip_sql((LOAN / "sql" / "branch_loans_3m.sql").read_text(encoding="utf-8")))
        self.assertEqual(sql.entities, etl.strip_sql((LOAN / "sql" / "banks.sql").read_text(encoding="utf-8")))
        self.assertEqual(sql.rejected, etl.strip_sql((LOAN / "sql" / "rejected_loans.sql").read_text(encoding="utf-8")))
        self.assertEqual(sql.window_read, etl.strip_sql((LOAN / "sql" / "read_window.sql").read_text(encoding="utf-8")))
        for text in (sql.rows, sql.rejected, sql.window_read):
            self.assertIn("extract_window", text)
            self.assertFalse(text.endswith(";"))

    def test_an_extract_without_rejected_sql_or_window_read(self):
        flat_copy(CLIENT_ACTIVITY, self.dir)
        definition = etl.load_definition("client-activity", [self.dir])
        sql = etl.load_extract_sql(definition, [self.dir])
        self.assertIn("AS client_id", sql.rows)
        self.assertIn("FROM branch", sql.entities)
        self.assertIsNone(sql.rejected)
        self.assertIsNone(sql.window_read)

    def test_refuses_another_extract_s_definition(self):
        flat_copy(CLIENT_ACTIVITY, self.dir)
        with self.assertRaisesRegex(ValueError, r"definition of extract 'client-activity', but --extract_id is 'loan-moving-average'"):
            etl.load_definition("loan-moving-average", [self.dir])

    def test_a_missing_definition_names_extra_files(self):
        with self.assertRaisesRegex(FileNotFoundError, r"extract\.json not found .*--extra-files"):
            etl.load_definition("loan-moving-average", [self.dir])

    def test_a_missing_sql_file_names_extra_files(self):
        (self.dir / "extract.json").write_bytes((CLIENT_ACTIVITY / "extract.json").read_bytes())
        definition = etl.load_definition("client-activity", [self.dir])
        with self.assertRaisesRegex(FileNotFoundError, r"rows\.sql not found"):
            etl.load_extract_sql(definition, [self.dir])


class OutputTest(unittest.TestCase):
    """What the rows query must return and how the Parquet copy is typed, from the definition."""

    def setUp(self):
        self.loan = definition_of(LOAN)
        self.columns = [c["name"] for c in self.loan["output"]["columns"]]

    def test_loan_columns_are_the_contract_s(self):
        # The contract's header, as the hand-written oracle files have it.
        header = (REPO / "test/fixtures/oracle/2024-06/bank_id=1.csv").read_text(encoding="utf-8").split("\n")[0]
        self.assertEqual(",".join(self.columns), header)

    def test_check_extract_columns(self):
        etl.check_extract_columns(["bank_id", *self.columns], self.loan)
        with self.assertRaisesRegex(ValueError, "sql/branch_loans_3m.sql of extract loan-moving-average"):
            etl.check_extract_columns(self.columns, self.loan)
        with self.assertRaises(ValueError):
            etl.check_extract_columns(["bank_id", *reversed(self.columns)], self.loan)
        client = definition_of(CLIENT_ACTIVITY)
        etl.check_extract_columns(["branch_id", "client_id", "month", "loan_count", "loan_amount", "first_loan_date"], client)
        with self.assertRaisesRegex(ValueError, "needs branch_id, client_id"):
            etl.check_extract_columns(["bank_id", "client_id", "month", "loan_count", "loan_amount", "first_loan_date"], client)

    def test_check_entity_ids(self):
        etl.check_entity_ids([(1, 3), (2, 5)], self.loan)
        with self.assertRaisesRegex(ValueError, "sql/branch_loans_3m.sql of extract loan-moving-average returns 2 rows with a NULL bank_id"):
            etl.check_entity_ids([(None, 2), (1, 3)], self.loan)

    def test_check_entity_columns(self):
        etl.check_entity_columns(["id", "name"], self.loan)
        with self.assertRaisesRegex(ValueError, "sql/banks.sql of extract loan-moving-average returns columns bank_id, bank_name; it must return id, name"):
            etl.check_entity_columns(["bank_id", "bank_name"], self.loan)

    def test_loan_parquet_types_are_today_s(self):
        # The analysts' Athena table reads these types: ids and counts INT64, the average DECIMAL(20,2).
        self.assertEqual(
            etl.analytics_casts(self.loan),
            [
                ("branch_id", "bigint"),
                ("loan_count", "bigint"),
                ("loan_amount", "bigint"),
                ("loan_count_3m", "bigint"),
                ("loan_amount_3m", "bigint"),
                ("moving_avg_3m", "decimal(20,2)"),
            ],
        )


class LayoutTest(unittest.TestCase):
    """glue/extract-layout.json is the one list of staging folders and source type families (TypeScript reads it too)."""

    def setUp(self):
        self.layout = etl.load_layout(etl.resource_dirs())

    def test_staging_paths(self):
        self.assertEqual(
            etl.staging_paths("s3://b/runs/r1/", self.layout),
            {
                "rows": "s3://b/runs/r1/rows/",
                "entities": "s3://b/runs/r1/entities/",
                "rejected": "s3://b/runs/r1/rejected/",
                "sourceRows": "s3://b/runs/r1/source_rows/",
                "analytics": "s3://b/runs/r1/analytics/",
            },
        )


class CsvOptionsTest(unittest.TestCase):
    def test_rfc4180_options(self):
        options = etl.csv_writer_options()
        expected = {
            "header": "true",
            "sep": ",",
            "quote": '"',
            "escape": '"',
            "quoteAll": "false",
            "escapeQuotes": "true",
            "emptyValue": "",
            "nullValue": "",
            "ignoreLeadingWhiteSpace": "false",
            "ignoreTrailingWhiteSpace": "false",
            "lineSep": "\n",
            "encoding": "UTF-8",
            "compression": "none",
            "comment": "\u0000",
        }
        self.assertEqual(options, expected)
        self.assertTrue(all(isinstance(v, str) for v in options.values()))


if __name__ == "__main__":
    unittest.main()
