"""Errors that reach the user as one line naming the problem and the fix."""


class O2FError(RuntimeError):
    """A problem with the user's input; the CLI prints it as one line and exits non-zero."""
