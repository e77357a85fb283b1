"""Errors that reach the user as one line naming the problem and the fix."""

from __future__ import annotations

import sys
from collections.abc import Callable


class O2FError(RuntimeError):
    """A problem with the user's input; the CLI prints it as one line and exits non-zero."""


def run_reporting_errors(action: Callable[[], object]) -> int:
    """Exit status of a command-line action: 0, or 2 after printing its O2FError as one line."""
    try:
        action()
    except O2FError as err:
        print(f"o2f: error: {err}", file=sys.stderr)
        return 2
    return 0
