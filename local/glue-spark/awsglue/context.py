"""GlueContext: the running SparkSession, and JDBC settings of the connections the caller registered."""
from __future__ import annotations

from typing import Any, Mapping

# Connection name -> what Glue's extract_jdbc_conf() returns for it (url, fullUrl, user, password).
# Set by glue_job_server.py for each job; Glue reads these from the Data Catalog and Secrets Manager.
_CONNECTIONS: dict[str, dict[str, str]] = {}


def register_connections(connections: Mapping[str, Mapping[str, str]]) -> None:
    _CONNECTIONS.clear()
    _CONNECTIONS.update({name: dict(conf) for name, conf in connections.items()})


class GlueContext:
    def __init__(self, spark_context: Any):
        from pyspark.sql import SparkSession

        self.spark_session = SparkSession.builder.getOrCreate()
        self._spark_context = spark_context

    def extract_jdbc_conf(self, connection_name: str) -> dict[str, str]:
        if connection_name not in _CONNECTIONS:
            raise KeyError(f"no local Glue connection named {connection_name!r} (known: {', '.join(sorted(_CONNECTIONS)) or 'none'})")
        return dict(_CONNECTIONS[connection_name])
