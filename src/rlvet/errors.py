"""rlvet's own errors: raised only when rlvet is misused or its input is unreadable.

The CLI turns every ``RlvetInputError`` into one line on stderr and exit code 2; the
message must already name the file, line and field a person needs to fix.
"""

from __future__ import annotations

__all__ = ["RlvetInputError"]


class RlvetInputError(Exception):
    """Bad usage or unreadable input, e.g. ``runs/a/progress.csv:17: column ... not a number``."""
