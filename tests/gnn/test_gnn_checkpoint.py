"""fraudrings.gnn.checkpoint: round trip, the ``latest`` pointer, refusal of other versions."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fraudrings.gnn import checkpoint as ck
from fraudrings.gnn.score import score_book
from fraudrings.gnn.train import TrainConfig, train_gnn
from fraudrings.graph.export import GraphExport


@pytest.fixture(scope="module")
def trained(portfolio_export: GraphExport) -> ck.Checkpoint:
    return train_gnn(portfolio_export, TrainConfig(epochs=3, hidden=8)).checkpoint


def test_round_trip_scores_the_same(trained: ck.Checkpoint, portfolio_export: GraphExport,
                                    tmp_path: Path) -> None:
    path = ck.save_checkpoint(trained, tmp_path / "model.pt")
    loaded = ck.load_checkpoint(path)
    assert loaded.threshold == trained.threshold
    assert loaded.feature_config == trained.feature_config
    assert loaded.normaliser.mean == trained.normaliser.mean
    assert loaded.model_config == trained.model_config
    assert loaded.schema_version == trained.schema_version
    assert torch.equal(score_book_tensor(loaded, portfolio_export),
                       score_book_tensor(trained, portfolio_export))
    assert ck.load_checkpoint(path) is loaded  # cached while the file is unchanged


def score_book_tensor(model: ck.Checkpoint, export: GraphExport) -> torch.Tensor:
    return torch.tensor(score_book(export, model).to_numpy())


def test_default_folder_and_latest(trained: ck.Checkpoint, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUDRINGS_HOME", str(tmp_path / "home"))
    with pytest.raises(ck.CheckpointNotFound, match="fraudrings train"):
        ck.load_checkpoint()
    first = ck.save_checkpoint(trained)
    second = ck.save_checkpoint(trained)
    assert first.parent == tmp_path / "home" / "models" and first != second
    assert (first.parent / "latest").read_text().strip() == second.name
    assert ck.load_checkpoint().path == second
    assert ck.load_checkpoint(first.parent).path == second
    assert ck.load_checkpoint(first).path == first


def test_refuses_another_feature_or_schema_version(trained: ck.Checkpoint,
                                                  tmp_path: Path) -> None:
    path = ck.save_checkpoint(trained, tmp_path / "old.pt")
    raw = torch.load(path, weights_only=True)
    for key in ("feature_version", "schema_version"):
        stale = dict(raw, **{key: raw[key] + 1})
        torch.save(stale, tmp_path / f"{key}.pt")
        with pytest.raises(ck.IncompatibleCheckpoint) as caught:
            ck.load_checkpoint(tmp_path / f"{key}.pt")
        assert isinstance(caught.value, ValueError)
        message = str(caught.value)
        assert "\n" not in message and "train a new model" in message
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ck.IncompatibleCheckpoint, match="not a fraudrings checkpoint"):
        ck.load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(ck.CheckpointNotFound):
        ck.load_checkpoint(tmp_path / "missing.pt")
