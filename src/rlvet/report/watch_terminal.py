"""The live view of ``rlvet watch``: events as they happen, a status line below them.

Contents:
    WatchView -- a ``rlvet.watch.WatchSink``: prints files found, findings (warning and up)
        and actions taken as lines, and keeps a one-line status (records, last step) in a
        rich ``Live`` region when the console is a terminal.
"""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.text import Text

from rlvet.findings import Severity
from rlvet.watch import WatchEvent

__all__ = ["WatchView"]

_STYLE = {"file": "dim", "action": "bold red", "action_failed": "bold yellow"}


class WatchView:
    """Render watch events on ``console``; use as a context manager around ``watch``.

    Example:
        >>> with WatchView(Console(stderr=True)) as view:  # doctest: +SKIP
        ...     outcome = watch(config, view)
    """

    def __init__(self, console: Console) -> None:
        self._console = console
        self._live = Live(Text(""), console=console, transient=True,
                          auto_refresh=False) if console.is_terminal else None

    def __enter__(self) -> WatchView:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    def __call__(self, event: WatchEvent) -> None:
        if event.kind == "status":
            if self._live is not None:
                step = "-" if event.step is None else event.step
                self._live.update(Text(f"watching: {event.records} records, last step {step}",
                                       style="dim"), refresh=True)
            return
        where = "" if event.step is None else f"step {event.step}: "
        if event.kind == "finding" and event.finding is not None:
            f = event.finding
            style = "red" if f.severity is Severity.ERROR else "yellow"
            line = Text.assemble((f"{f.severity} {f.category}", style), f" {where}{f.message}")
        elif event.kind == "action" and event.finding is not None:
            line = Text(f"STOP ({event.finding.category}) {where}{event.message}",
                        style=_STYLE["action"])
        else:
            line = Text(event.message, style=_STYLE.get(event.kind, ""))
        self._console.print(line, soft_wrap=True)
