"""getResolvedOptions as Glue's: each named option must be present as --name value (or --name=value)."""
from __future__ import annotations

import argparse
from typing import Sequence


def getResolvedOptions(args: Sequence[str], options: Sequence[str]) -> dict[str, str]:  # noqa: N802 (Glue's name)
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for option in options:
        parser.add_argument(f"--{option}", required=True)
    # Glue ignores arguments it was not asked for (its own, and the job's optional ones).
    resolved, _ = parser.parse_known_args(list(args)[1:])
    return vars(resolved)
