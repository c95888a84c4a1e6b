"""The pure parts of glue/etl.py, checked against the TypeScript and JSON they must agree with.

Run from the repository root: python3 -m unittest discover -s glue/tests -t . -v
"""
import json
import re
import sqlite3
import sys
import tempfile
import types
import unittest
import unittest.mock
from datetime import date, timedelta
from pathlib import Path

from glue import etl

REPO = Path(__file__).resolve().parents[2]
GLUE = REPO / "glue"


def valid_args(**overrides):
    args = {
        "JOB_NAME": "monthly-extract-dev",
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


def sqlite_has_mod():
    try:
        sqlite3.connect(":memory:").execute("SELECT mod(7, 3)")
        return True
    except sqlite3.OperationalError:
        return False


class ImportTest(unittest.TestCase):
    def test_module_imports_without_spark(self):
        self.assertNotIn("pyspark", sys.modules)
        self.assertNotIn("awsglue", sys.modules)


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
        self.assertEqual(config.read_partitions, etl.DEFAULT_READ_PARTITIONS)

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

    def test_optional_argument_is_only_requested_when_passed(self):
        base = ["etl.py", "--JOB_NAME", "j", "--month", "2024-03"]
        self.assertNotIn("read_partitions", etl.resolved_option_names(base))
        self.assertIn("read_partitions", etl.resolved_option_names(base + ["--read_partitions", "4"]))
        self.assertIn("read_partitions", etl.resolved_option_names(base + ["--read_partitions=4"]))
        self.assertEqual(etl.resolved_option_names(base)[: len(etl.REQUIRED_ARGS)], list(etl.REQUIRED_ARGS))


def parse_window_predicate(predicate):
    match = re.fullmatch(
        r"\"loan_date\" >= DATE '(\d{4}-\d{2}-\d{2})' AND \"loan_date\" < DATE '(\d{4}-\d{2}-\d{2})'", predicate
    )
    if not match:
        raise AssertionError(f"unexpected predicate: {predicate}")
    return date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))


class WindowPredicatesTest(unittest.TestCase):
    def assert_exact_cover(self, start, end, parts):
        predicates = etl.window_predicates("loan_date", start, end, parts)
        self.assertEqual(predicates[-1], '"loan_date" IS NULL')
        ranges = [parse_window_predicate(p) for p in predicates[:-1]]
        self.assertEqual(len(ranges), min(parts, (end - start).days))
        self.assertEqual(ranges[0][0], start)
        self.assertEqual(ranges[-1][1], end)
        for (lo, hi), (next_lo, _) in zip(ranges, ranges[1:]):
            self.assertLess(lo, hi)
            self.assertEqual(hi, next_lo, "adjacent ranges must share their bound: no gap, no overlap")
        day = start - timedelta(days=3)
        while day < end + timedelta(days=3):
            hits = sum(lo <= day < hi for lo, hi in ranges)
            self.assertEqual(hits, 1 if start <= day < end else 0, day)
            day += timedelta(days=1)
        return predicates

    def test_covers_the_window_exactly(self):
        for parts in (1, 2, 3, 7, 8, 13, 64):
            with self.subTest(parts=parts):
                self.assert_exact_cover(date(2024, 1, 1), date(2024, 4, 1), parts)

    def test_covers_a_leap_february_window(self):
        self.assert_exact_cover(date(2023, 12, 1), date(2024, 3, 1), 8)

    def test_more_partitions_than_days(self):
        predicates = self.assert_exact_cover(date(2024, 1, 1), date(2024, 4, 1), 500)
        self.assertEqual(len(predicates), 91 + 1)
        predicates = self.assert_exact_cover(date(2024, 1, 1), date(2024, 1, 4), 8)
        self.assertEqual(len(predicates), 3 + 1)

    def test_every_row_in_exactly_one_predicate_when_run_as_sql(self):
        predicates = etl.window_predicates("loan_date", date(2023, 11, 1), date(2024, 2, 1), 8)
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE loans (loan_date TEXT)")
        day = date(2023, 10, 25)
        while day < date(2024, 2, 8):
            db.execute("INSERT INTO loans VALUES (?)", (day.isoformat(),))
            day += timedelta(days=1)
        db.execute("INSERT INTO loans VALUES (NULL)")
        hits = {}
        for predicate in predicates:
            # SQLite has no DATE literal; ISO text compares in date order.
            sqlite_predicate = predicate.replace("DATE '", "'")
            sql = f"SELECT loan_date FROM loans WHERE {sqlite_predicate}"
            for (value,) in db.execute(sql):
                hits[value] = hits.get(value, 0) + 1
        self.assertEqual(set(hits.values()), {1})
        self.assertIn(None, hits)
        self.assertEqual(min(k for k in hits if k), "2023-11-01")
        self.assertEqual(max(k for k in hits if k), "2024-01-31")
        self.assertEqual(len(hits), 92 + 1)

    def test_rejects_nonsense(self):
        with self.assertRaises(ValueError):
            etl.window_predicates("loan_date", date(2024, 1, 1), date(2024, 4, 1), 0)
        with self.assertRaises(ValueError):
            etl.window_predicates("loan_date", date(2024, 1, 1), date(2024, 1, 1), 8)


class ModuloPredicatesTest(unittest.TestCase):
    def test_shape(self):
        predicates = etl.modulo_predicates("idclient", 4)
        self.assertEqual(len(predicates), 5)
        self.assertEqual(predicates[0], 'mod(mod("idclient", 4) + 4, 4) = 0')
        self.assertEqual(predicates[3], 'mod(mod("idclient", 4) + 4, 4) = 3')
        self.assertEqual(predicates[-1], '"idclient" IS NULL')

    @unittest.skipUnless(sqlite_has_mod(), "this sqlite3 has no mod()")
    def test_every_id_in_exactly_one_predicate(self):
        # sqlite's mod() keeps the dividend's sign, like PostgreSQL's.
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE client (idclient INTEGER)")
        ids = list(range(-25, 26)) + [2_147_483_647, -2_147_483_648]
        db.executemany("INSERT INTO client VALUES (?)", [(i,) for i in ids] + [(None,)])
        for parts in (1, 3, 8):
            with self.subTest(parts=parts):
                hits = {}
                for predicate in etl.modulo_predicates("idclient", parts):
                    for (value,) in db.execute(f"SELECT idclient FROM client WHERE {predicate}"):
                        hits[value] = hits.get(value, 0) + 1
                self.assertEqual(sorted(hits, key=lambda v: (v is not None, v or 0)), [None] + sorted(ids))
                self.assertEqual(set(hits.values()), {1})


class SourceModelTest(unittest.TestCase):
    def setUp(self):
        self.model = json.loads((GLUE / "source-model.json").read_text(encoding="utf-8"))
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

    def test_loans_read_by_window_and_dimensions_by_id(self):
        self.assertEqual(self.tables["loans"].window_column, "loan_date")
        loans = etl.read_predicates(self.tables["loans"], self.config)
        self.assertTrue(all('"loan_date"' in p for p in loans))
        self.assertEqual(len(loans), self.config.read_partitions + 1)
        for name in ("bank", "branch", "client", "account"):
            with self.subTest(table=name):
                self.assertIsNone(self.tables[name].window_column)
                first = next(iter(self.model["tables"][name]["columns"]))
                self.assertEqual(
                    etl.read_predicates(self.tables[name], self.config),
                    etl.modulo_predicates(first, self.config.read_partitions),
                )

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

    def test_the_repository_files_are_found_from_a_checkout(self):
        dirs = etl.resource_dirs()
        for name in etl.SQL_FILES:
            with self.subTest(name=name):
                sql = etl.load_sql(name, dirs)
                self.assertFalse(sql.endswith(";"))
                self.assertIn("extract_window", sql)
        self.assertEqual(etl.load_source_model(dirs)["schema"], "public")


class ContractAgreementTest(unittest.TestCase):
    """The Python copies of TypeScript constants must not drift from the originals."""

    def test_extract_columns_match_extract_csv_ts(self):
        source = (REPO / "functions/core/extract-csv.ts").read_text(encoding="utf-8")
        block = re.search(r"EXTRACT_COLUMNS = \[(.*?)\]", source, re.S).group(1)
        self.assertEqual(tuple(re.findall(r"'(\w+)'", block)), etl.EXTRACT_COLUMNS)

    def test_check_extract_columns(self):
        etl.check_extract_columns(["bank_id", *etl.EXTRACT_COLUMNS])
        with self.assertRaisesRegex(ValueError, "branch_loans_3m.sql"):
            etl.check_extract_columns(list(etl.EXTRACT_COLUMNS))
        with self.assertRaises(ValueError):
            etl.check_extract_columns(["bank_id", *reversed(etl.EXTRACT_COLUMNS)])

    def test_staging_folders_match_staging_layout_ts(self):
        source = (REPO / "functions/core/staging-layout.ts").read_text(encoding="utf-8")
        block = re.search(r"STAGING_FOLDERS = \{(.*?)\}", source, re.S).group(1)
        folders = sorted(re.findall(r":\s*'([\w-]+)'", block))
        self.assertEqual(folders, ["banks", "rejected", "rows", "source_rows"])
        self.assertEqual(sorted(etl.STAGING_FOLDERS.values()), folders)

    def test_staging_paths(self):
        paths = etl.staging_paths("s3://b/runs/r1/")
        self.assertEqual(
            paths,
            {
                "rows": "s3://b/runs/r1/rows/",
                "banks": "s3://b/runs/r1/banks/",
                "rejected": "s3://b/runs/r1/rejected/",
                "source_rows": "s3://b/runs/r1/source_rows/",
            },
        )

    def test_extract_window_sql_matches_extract_sql_ts(self):
        source = (REPO / "local/engine/extract-sql.ts").read_text(encoding="utf-8")
        template = re.search(r"extractWindowSql\(.*?return `(.*?)`;", source, re.S).group(1)
        expected = (
            template.replace("${window.month}", "2024-03")
            .replace("${window.windowStart}", "2024-01-01")
            .replace("${window.monthStart}", "2024-03-01")
            .replace("${window.windowEnd}", "2024-04-01")
        )
        actual = etl.extract_window_sql(etl.validate_args(valid_args()))
        self.assertEqual(" ".join(actual.split()), " ".join(expected.split()))


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
        }
        self.assertEqual(options, expected)
        self.assertTrue(all(isinstance(v, str) for v in options.values()))

    def test_lone_cr_condition(self):
        self.assertIsNone(etl.lone_cr_condition([]))
        condition = etl.lone_cr_condition(["bank_name", "branch_address"])
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE r (bank_name TEXT, branch_address TEXT)")
        rows = [("A", "1 Main"), ("A", "1\r\nMain"), ("A", "1\nMain"), ("A", None), ("A\rB", "x"), ("A", "1\rMain")]
        db.executemany("INSERT INTO r VALUES (?, ?)", rows)
        flagged = db.execute(f"SELECT bank_name, branch_address FROM r WHERE {condition}").fetchall()
        self.assertEqual(flagged, [("A\rB", "x"), ("A", "1\rMain")])


class FakeFrame:
    """Just enough of a DataFrame for main(): records what is done to it."""

    def __init__(self, session, name, columns, dtypes=None, rows=()):
        self.session, self.name, self.columns = session, name, list(columns)
        self.dtypes = dtypes or [(c, "string" if c in ("bank_name", "branch_address", "month") else "bigint") for c in columns]
        self.rows = list(rows)
        self.write = FakeWriter(session, name)

    def cache(self):
        self.session.calls.append(("cache", self.name))
        return self

    def count(self):
        self.session.calls.append(("count", self.name))
        return len(self.rows)

    def createOrReplaceTempView(self, view):
        self.session.calls.append(("view", view))

    def collect(self):
        return self.rows

    def where(self, condition):
        self.session.calls.append(("where", condition))
        return FakeFrame(self.session, self.name, self.columns, self.dtypes)

    def select(self, *columns):
        return self

    def limit(self, n):
        return self

    def groupBy(self, column):
        return types.SimpleNamespace(count=lambda: FakeFrame(self.session, "per_bank", [column, "count"]))

    def orderBy(self, column):
        return self

    def repartition(self, column):
        self.session.calls.append(("repartition", self.name, column))
        return self

    def sortWithinPartitions(self, *columns):
        self.session.calls.append(("sortWithinPartitions", self.name, columns))
        return self

    def coalesce(self, n):
        self.session.calls.append(("coalesce", self.name, n))
        return self


class FakeWriter:
    def __init__(self, session, name):
        self.session, self.name, self.settings = session, name, {}

    def mode(self, mode):
        self.settings["mode"] = mode
        return self

    def partitionBy(self, column):
        self.settings["partitionBy"] = column
        return self

    def option(self, key, value):
        self.settings.setdefault("options", {})[key] = value
        return self

    def options(self, **options):
        self.settings.setdefault("options", {}).update(options)
        return self

    def csv(self, path):
        self.session.writes.append(("csv", self.name, path, self.settings))

    def json(self, path):
        self.session.writes.append(("json", self.name, path, self.settings))


class FakeSpark:
    def __init__(self):
        self.calls, self.writes, self.conf_set, self.jdbc_reads = [], [], {}, []
        self.conf = types.SimpleNamespace(set=lambda k, v: self.conf_set.__setitem__(k, v))
        self.read = types.SimpleNamespace(jdbc=self._jdbc)

    def _jdbc(self, url, table, predicates, properties):
        self.jdbc_reads.append((url, table, predicates, properties))
        name = re.search(r'AS "(\w+)"$', table).group(1)
        columns = re.findall(r'"(\w+)"', table.split(" FROM ")[0])
        model = json.loads((GLUE / "source-model.json").read_text(encoding="utf-8"))
        spark_type = {"integer": "int", "text": "string", "date": "date"}
        dtypes = [(c, spark_type[model["tables"][name]["columns"][c]]) for c in columns]
        return FakeFrame(self, name, columns, dtypes, rows=[()] * 3)

    def sql(self, text):
        self.calls.append(("sql", text[:40]))
        if "branch_totals" in text:
            return FakeFrame(self, "rows", ["bank_id", *etl.EXTRACT_COLUMNS])
        if "classified" in text:
            return FakeFrame(self, "rejected", ["reason", "loan_count"])
        if text == etl.BANKS_SQL:
            return FakeFrame(self, "banks", ["bank_id", "bank_name"])
        return FakeFrame(self, "extract_window", ["month", "window_start", "month_start", "window_end"])

    def createDataFrame(self, data, schema):
        self.calls.append(("createDataFrame", tuple(data), schema))
        return FakeFrame(self, "source_rows", ["table", "row_count"], rows=data)


class MainWithFakeGlueTest(unittest.TestCase):
    """main() against stand-ins for awsglue and pyspark: the calls it makes, not Spark's behaviour."""

    PASSWORD = "pw-must-not-leak"

    def setUp(self):
        self.spark = FakeSpark()
        self.committed = []
        spark, committed, password = self.spark, self.committed, self.PASSWORD

        def get_resolved_options(argv, names):
            pairs = dict(zip(argv[1::2], argv[2::2]))
            return {n: pairs[f"--{n}"] for n in names}

        class GlueContext:
            def __init__(self, sc):
                self.spark_session = spark

            def extract_jdbc_conf(self, name):
                return {"url": "jdbc:postgresql://reader:5432", "fullUrl": "jdbc:postgresql://reader:5432/ods", "user": "etl", "password": password}

        class Job:
            def __init__(self, glue_context):
                pass

            def init(self, name, args):
                committed.append(("init", name))

            def commit(self):
                committed.append(("commit",))

        fakes = {
            "awsglue": types.ModuleType("awsglue"),
            "awsglue.utils": types.SimpleNamespace(getResolvedOptions=get_resolved_options),
            "awsglue.context": types.SimpleNamespace(GlueContext=GlueContext),
            "awsglue.job": types.SimpleNamespace(Job=Job),
            "pyspark": types.ModuleType("pyspark"),
            "pyspark.context": types.SimpleNamespace(SparkContext=types.SimpleNamespace(getOrCreate=lambda: object())),
        }
        patcher = unittest.mock.patch.dict(sys.modules, fakes)
        patcher.start()
        self.addCleanup(patcher.stop)

    def run_main(self):
        argv = ["etl.py"]
        for key, value in valid_args(read_partitions="4").items():
            argv += [f"--{key}", value]
        with self.assertLogs("monthly-extract", level="INFO") as logs:
            etl.main(argv)
        return "\n".join(logs.output)

    def test_reads_computes_and_writes_the_staging_layout(self):
        log = self.run_main()
        spark = self.spark
        self.assertEqual(spark.conf_set, {"spark.sql.ansi.enabled": "true"})
        self.assertEqual(self.committed, [("init", "monthly-extract-dev"), ("commit",)])

        self.assertEqual([re.search(r'AS "(\w+)"', t).group(1) for _, t, _, _ in spark.jdbc_reads], ["bank", "branch", "client", "account", "loans"])
        for url, _, predicates, properties in spark.jdbc_reads:
            self.assertEqual(url, "jdbc:postgresql://reader:5432/ods")
            self.assertEqual(len(predicates), 4 + 1)
            self.assertEqual(properties["fetchsize"], str(etl.FETCH_SIZE))
        loans_predicates = spark.jdbc_reads[-1][2]
        self.assertIn("DATE '2024-01-01'", loans_predicates[0])
        self.assertIn("DATE '2024-04-01'", loans_predicates[-2])
        for table in ("bank", "loans"):
            self.assertLess(spark.calls.index(("cache", table)), spark.calls.index(("count", table)))
            self.assertLess(spark.calls.index(("count", table)), spark.calls.index(("view", table)))
        self.assertIn(("view", "extract_window"), spark.calls)
        self.assertIn(("repartition", "rows", "bank_id"), spark.calls)
        self.assertIn(("sortWithinPartitions", "rows", ("bank_id", "branch_id")), spark.calls)
        self.assertIn(
            ("createDataFrame", (("bank", 3), ("branch", 3), ("client", 3), ("account", 3), ("loans", 3)), "`table` STRING, row_count BIGINT"),
            spark.calls,
        )

        prefix = valid_args()["staging_path"]
        writes = {name: (fmt, path, settings) for fmt, name, path, settings in spark.writes}
        self.assertEqual(
            writes["rows"],
            ("csv", prefix + "rows/", {"mode": "overwrite", "partitionBy": "bank_id", "options": etl.csv_writer_options()}),
        )
        for name, folder in (("banks", "banks/"), ("rejected", "rejected/"), ("source_rows", "source_rows/")):
            fmt, path, settings = writes[name]
            self.assertEqual((fmt, path, settings["mode"]), ("json", prefix + folder, "overwrite"))
            self.assertIn(("coalesce", name, 1), spark.calls)

        self.assertIn("read 3 rows from public.loans", log)
        self.assertIn("rejected loans: none", log)
        self.assertNotIn(self.PASSWORD, log)

    def test_rejects_bad_arguments_before_touching_spark(self):
        argv = ["etl.py"]
        for key, value in valid_args(month="2024-13").items():
            argv += [f"--{key}", value]
        with self.assertRaisesRegex(ValueError, "--month"):
            etl.main(argv)
        self.assertEqual(self.spark.jdbc_reads, [])
        self.assertEqual(self.committed, [])


if __name__ == "__main__":
    unittest.main()
