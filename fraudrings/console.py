"""One rich console and one progress-bar style for every command."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

# Piped output (CI logs, files) gets a wide page instead of rich's 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False)


def progress_bar() -> Progress:
    """A progress bar on stderr, so that stdout stays clean for pipes and JSON."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=not sys.stderr.isatty(),
        disable=not sys.stderr.isatty(),
    )
