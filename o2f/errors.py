"""Errors that reach the user as one line naming the problem and the fix."""

from __future__ import annotations

import sys
from collections.abc import Callable


class O2FError(RuntimeError):
    """A problem with the user's input; the CLI prints it as one line and exits non-zero."""


class DataError(O2FError):
    """A data problem with a one-line explanation for the user."""


def check_known(names: list[str], known: list[str], what: str) -> None:
    """Stop on the names that are not ``known`` (besides ``all``), naming them and the choices."""
    unknown = [name for name in names if name not in known]
    if unknown:
        raise O2FError(f"unknown {what}(s) {', '.join(unknown)}; choose from all, {', '.join(known)}")


def run_reporting_errors(action: Callable[[], object]) -> int:
    """Exit status of a command-line action: 0, or 2 after printing its O2FError as one line."""
    try:
        action()
    except O2FError as err:
        print(f"o2f: error: {err}", file=sys.stderr)
        return 2
    return 0
