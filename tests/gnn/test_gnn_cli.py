"""fraudrings.gnn.cli: train, score and write back through the command functions and click."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from fraudrings.gnn.cli import register, score_command, train_command
from fraudrings.graph.load import load_batch
from fraudrings.graph.store import GraphStore, open_store
from fraudrings.loaders.contract import validate
from fraudrings.loaders.generator import Portfolio


@pytest.fixture
def book(tmp_path: Path, portfolio: Portfolio) -> Path:
    path = tmp_path / "book.lbug"
    with open_store("ladybug", path=path) as store:
        load_batch(store, validate(portfolio.applications))
    return path


def test_train_then_score_with_write_back(book: Path, tmp_path: Path) -> None:
    def opener() -> GraphStore:  # what store_options passes
        return open_store("ladybug", path=book)

    trained = train_command(opener, tmp_path / "models", epochs=2, hidden=8)
    assert Path(trained["checkpoint"]).exists()
    assert (tmp_path / "models" / "latest").exists()
    assert trained["split"]["train"] > trained["split"]["test"] > 0
    assert trained["label_lag_days"] >= 55

    scored = score_command(opener, tmp_path / "models", write_back=True,
                           out=tmp_path / "scores.csv")
    assert scored["applications"] == scored["written"] == 2500
    frame = pd.read_csv(tmp_path / "scores.csv")
    assert list(frame.columns) == ["application_id", "gnn_score"]
    with open_store("ladybug", path=book) as store:
        stored = store.query("MATCH (a:Application) WHERE a.gnn_score IS NOT NULL "
                             "RETURN count(a) AS n")
    assert stored[0]["n"] == 2500


def test_click_commands(book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fraudrings.cli_support import store_options

    monkeypatch.setenv("FRAUDRINGS_HOME", str(tmp_path / "home"))
    group = click.Group()
    register(group, store_options)
    assert {"train", "score", "bench-gnn"} <= set(group.commands)
    runner = CliRunner()
    trained = runner.invoke(group, ["train", "--db", str(book), "--epochs", "2", "--hidden",
                                    "8", "--json"])
    assert trained.exit_code == 0, trained.output
    assert Path(json.loads(trained.output)["checkpoint"]).parent == tmp_path / "home" / "models"
    scored = runner.invoke(group, ["score", "--db", str(book), "--json"])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.output)["applications"] == 2500
