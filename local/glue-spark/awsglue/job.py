"""Job: init and commit are bookkeeping on Glue (bookmarks are off for this job); here they check order."""
from __future__ import annotations

from typing import Any, Mapping


class Job:
    def __init__(self, glue_context: Any):
        self._name: str | None = None

    def init(self, job_name: str, args: Mapping[str, str]) -> None:
        self._name = job_name

    def commit(self) -> None:
        if self._name is None:
            raise RuntimeError("Job.commit() before Job.init()")
