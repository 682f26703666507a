"""The README cannot drift from the product: every command and heuristic is documented."""

from __future__ import annotations

from pathlib import Path

import click

from fraudrings.cli import main
from fraudrings.queries import catalog

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "fraudrings") -> list[str]:
    out = []
    for name, command in group.commands.items():
        out.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            out.extend(_commands(command, f"{prefix} {name}"))
    return out


def test_every_command_is_in_the_readme() -> None:
    missing = [c for c in _commands(main) if f"`{c}" not in README and f"{c} " not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_heuristic_is_in_the_readme() -> None:
    missing = [h.name for h in catalog.catalog() if f"`{h.name}`" not in README]
    assert not missing, f"heuristics missing from README.md: {missing}"
