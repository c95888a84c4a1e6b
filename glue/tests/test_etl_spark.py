"""glue/etl.py on a real Spark (3.5.6, as AWS Glue 5.1) against real PostgreSQL servers: what only a
real Spark and a real server can prove. The snapshot every partition shares, TLS verification, and
the failures an operator would see.

Needs the Python of scripts/setup-spark.sh, TEST_POSTGRES_URL (scripts/test-postgres.sh start) and
TEST_POSTGRES_TLS_URL (scripts/test-postgres.sh start-tls). Without them the tests skip, except under
CI=true, where they fail: .ci/run installs and starts all three.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import unittest.mock
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from glue import etl

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "test" / "fixtures"
sys.path.insert(0, str(REPO / "local" / "glue-spark"))

try:
    import pyspark  # noqa: F401

    import glue_job_server
except ImportError as error:  # only the Python of scripts/setup-spark.sh has pyspark
    MISSING = f"pyspark is not installed ({error}): run scripts/setup-spark.sh and use .spark/venv/bin/python"
else:
    MISSING = next(
        (f"{name} is not set" for name in ("TEST_POSTGRES_URL", "TEST_POSTGRES_TLS_URL") if not os.environ.get(name)),
        None,
    )
if MISSING and os.environ.get("CI") == "true":
    raise RuntimeError(f"CI=true but the real-Spark tests cannot run: {MISSING}")

SPARK = None
STARTED_IN = Path.cwd()


def setUpModule():  # noqa: N802 (unittest's name)
    global SPARK
    if not MISSING:
        # start_spark() moves into the job working directory it makes, as the server does.
        SPARK = glue_job_server.start_spark()
        SPARK.sparkContext.setLogLevel("ERROR")


def tearDownModule():  # noqa: N802
    if SPARK is not None:
        SPARK.stop()
        work = Path.cwd()
        os.chdir(STARTED_IN)
        shutil.rmtree(work, ignore_errors=True)


def psql(url: str, *args: str) -> str:
    result = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"psql failed: {result.stderr}")
    return result.stdout


def with_database(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


class OracleDatabase:
    """A fresh database on a server, holding the oracle ODS; dropped at the end."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        self.name = f"spark_test_{uuid.uuid4().hex[:12]}"
        psql(server_url, "-c", f"CREATE DATABASE {self.name}")
        self.url = with_database(server_url, self.name)
        psql(self.url, "-f", str(REPO / "local/sample/ods-schema.sql"), "-f", str(FIXTURES / "oracle-ods.sql"))

    def drop(self) -> None:
        psql(self.server_url, "-c", f"DROP DATABASE {self.name} WITH (FORCE)")

    def jdbc(self, host: str | None = None) -> dict[str, str]:
        parts = urlsplit(self.url)
        return {"fullUrl": f"jdbc:postgresql://{host or parts.hostname}:{parts.port}/{self.name}", "user": parts.username or "postgres", "password": parts.password or ""}


def job_request(database: OracleDatabase, staging: Path, run_id: str, host: str | None = None, **arguments: str) -> dict:
    args = {
        "--JOB_NAME": "monthly-loan-extract-test-loan-moving-average",
        "--extract_id": "loan-moving-average",
        "--month": "2024-06",
        "--window_start": "2024-04-01",
        "--month_start": "2024-06-01",
        "--window_end": "2024-07-01",
        "--staging_path": f"file://{staging}/{run_id}/",
        "--run_id": run_id,
        "--connection_name": "ods",
        "--read_partitions": "3",
        "--ods_sslmode": "disable",
    }
    args.update({f"--{k}": v for k, v in arguments.items()})
    # As the deployed job's --extra-files: the extract's folder, then the shared glue/ files.
    loan = REPO / "extracts" / "loan-moving-average"
    extra = [str(loan / name) for name in ("extract.json", "sql/branch_loans_3m.sql", "sql/rejected_loans.sql", "sql/read_window.sql", "sql/banks.sql")]
    extra += [str(REPO / "glue" / name) for name in ("extract-layout.json", "rds-ca-bundle.pem")]
    return {"arguments": args, "connections": {"ods": database.jdbc(host)}, "extraFiles": extra}


def staged(staging: Path, run_id: str) -> dict[str, str]:
    """What the job staged, per folder and kind ("rows/bank_id=1/*.csv": the parts' text joined).

    Spark names parts with a random job UUID, so two runs are compared by content only; markers and
    Hadoop's local checksum files are left out, and so is the analytics/ Parquet copy (binary, the same
    rows as rows/; test/integration/spark-engine.test.ts reads it back against the CSV).
    """
    root = staging / run_id
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith((".crc", ".parquet")) and path.name != "_SUCCESS":
            key = f"{path.parent.relative_to(root)}/*{path.suffix}"
            out[key] = out.get(key, "") + path.read_text(encoding="utf-8")
    return out


@unittest.skipIf(MISSING, MISSING or "")
class SnapshotTest(unittest.TestCase):
    """Rows committed while the job reads are never half-seen: every partition reads one moment."""

    @classmethod
    def setUpClass(cls):
        cls.database = OracleDatabase(os.environ["TEST_POSTGRES_URL"])
        cls.staging = Path(tempfile.mkdtemp(prefix="spark-snapshot-"))

    @classmethod
    def tearDownClass(cls):
        cls.database.drop()
        shutil.rmtree(cls.staging, ignore_errors=True)

    def run_with_insert_after_branches(self, run_id: str, first_id: int) -> dict[str, str]:
        """Runs the job; right after it has read `branch` (and before the window read of loans,
        accounts and clients), a new branch of bank 1 with a client, its account and 3 loans commit."""
        original = etl.cache_source_view
        database = self.database

        def read_then_insert(df, table):
            rows = original(df, table)
            if table.name == "branch":
                psql(database.url, "-c", f"""
                    INSERT INTO branch VALUES ({first_id}, 1, 'new branch');
                    INSERT INTO client VALUES ({first_id}, 'new', 'client', {first_id});
                    INSERT INTO account VALUES ({first_id}, 0, {first_id}, DATE '2024-01-01');
                    INSERT INTO loans VALUES ({first_id}, 1000000, {first_id}, DATE '2024-06-20'),
                                             ({first_id + 1}, 1000000, {first_id}, DATE '2024-05-20'),
                                             ({first_id + 2}, 1000000, {first_id}, DATE '2024-04-20');""")
            return rows

        with unittest.mock.patch.object(etl, "cache_source_view", read_then_insert):
            self.assertEqual(glue_job_server.run_job(SPARK, job_request(database, self.staging, run_id)), {"status": "SUCCEEDED"})
        return staged(self.staging, run_id)

    def test_a_branch_and_its_loans_committed_during_the_read_are_not_half_seen(self):
        before = self.run_plain("before")
        during = self.run_with_insert_after_branches("during", 70001)
        # The moment the job started: the same rows, rejects and source row counts as before the insert.
        self.assertEqual(during, before)
        after = self.run_plain("after")
        # The insert is real: a run after it has the new branch's row in bank 1's file, and reads its 3 loans.
        self.assertNotEqual(after["rows/bank_id=1/*.csv"], before["rows/bank_id=1/*.csv"])
        self.assertEqual(json.loads(after["source_rows/*.json"].splitlines()[-1])["row_count"], json.loads(before["source_rows/*.json"].splitlines()[-1])["row_count"] + 3)

    def test_without_the_shared_snapshot_the_same_insert_splits_the_read(self):
        # The control: a window read that does not import the snapshot sees the new loans and their
        # client, but the branch read before the insert did not see the branch, so they turn up as
        # unresolved_branch. The snapshot is what prevents it.
        with unittest.mock.patch.object(etl, "snapshot_import_statement", lambda snapshot_id, schema: "SELECT 1"):
            split = self.run_with_insert_after_branches("split", 80001)
        rejected = {json.loads(line)["reason"]: json.loads(line)["row_count"] for line in split["rejected/*.json"].splitlines()}
        self.assertEqual(rejected["unresolved_branch"], 1 + 3)

    def run_plain(self, run_id: str) -> dict[str, str]:
        self.assertEqual(glue_job_server.run_job(SPARK, job_request(self.database, self.staging, run_id)), {"status": "SUCCEEDED"})
        return staged(self.staging, run_id)


@unittest.skipIf(MISSING, MISSING or "")
class TlsTest(unittest.TestCase):
    """sslmode=verify-full: the server's certificate must chain to the shipped CA and name the host."""

    @classmethod
    def setUpClass(cls):
        url = os.environ["TEST_POSTGRES_TLS_URL"]
        cls.ca = Path(parse_qs(urlsplit(url).query)["sslrootcert"][0])
        cls.database = OracleDatabase(url)
        cls.staging = Path(tempfile.mkdtemp(prefix="spark-tls-"))
        cls.work = Path(tempfile.mkdtemp(prefix="spark-tls-ca-"))
        shutil.copy(cls.ca, cls.work / "test-ca.pem")

    @classmethod
    def tearDownClass(cls):
        cls.database.drop()
        shutil.rmtree(cls.staging, ignore_errors=True)
        shutil.rmtree(cls.work, ignore_errors=True)

    def run_tls(self, run_id: str, host: str | None = None, **arguments: str) -> dict:
        request = job_request(self.database, self.staging, run_id, host=host, ods_sslmode="verify-full", **arguments)
        request["extraFiles"].append(str(self.work / "test-ca.pem"))
        return glue_job_server.run_job(SPARK, request)

    def test_the_right_ca_connects_and_the_extract_is_the_oracle_s(self):
        self.assertEqual(self.run_tls("right-ca", ods_ssl_root_cert="test-ca.pem"), {"status": "SUCCEEDED"})
        expected = (FIXTURES / "oracle/2024-06/bank_id=1.csv").read_text(encoding="utf-8")
        self.assertEqual(staged(self.staging, "right-ca")["rows/bank_id=1/*.csv"], expected)

    def test_a_server_the_rds_bundle_did_not_sign_is_refused(self):
        # The default: the RDS CA bundle shipped with the job. This server's CA is not in it.
        answer = self.run_tls("rds-bundle")
        self.assertEqual(answer["status"], "FAILED")
        self.assertRegex(answer["error"], r"(?i)ssl|certificat|PKIX")

    def test_a_certificate_for_another_host_name_is_refused(self):
        answer = self.run_tls("wrong-host", host="127.0.0.1", ods_ssl_root_cert="test-ca.pem")
        self.assertEqual(answer["status"], "FAILED")
        self.assertRegex(answer["error"], r"(?i)host ?name|localhost")

    def test_a_plain_connection_is_refused_by_a_tls_only_server(self):
        request = job_request(self.database, self.staging, "plain")
        answer = glue_job_server.run_job(SPARK, request)
        self.assertEqual(answer["status"], "FAILED")
        self.assertIn("no encryption", answer["error"])


if __name__ == "__main__":
    unittest.main()
