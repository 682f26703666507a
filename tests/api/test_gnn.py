"""With a trained checkpoint the answer carries the GNN's score (and without one, null)."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import Live, body, load_book, portfolio, serve

from fraudrings.api import auth
from fraudrings.api.app import create_app
from fraudrings.api.gnn import GnnScorer
from fraudrings.graph.export import export_rows
from fraudrings.graph.store import GraphStore
from fraudrings.loaders.contract import validate


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fraudrings.gnn.checkpoint import save_checkpoint
    from fraudrings.gnn.train import TrainConfig, train_gnn

    export = export_rows(validate(portfolio().applications.head(2000)).rows)
    trained = train_gnn(export, TrainConfig(epochs=3, hidden=8)).checkpoint
    return save_checkpoint(trained, tmp_path_factory.mktemp("models") / "gnn.pt")


def test_the_gnn_scores_a_new_application(store: GraphStore, checkpoint: Path,
                                          tmp_path: Path) -> None:
    latest = portfolio().applications.iloc[-1]
    load_book(store, without={latest["application_id"]})
    keys_file = tmp_path / "keys"
    key = auth.add_key(keys_file, "w", "write")
    app = create_app(store, keys=auth.KeyStore(keys_file), gnn=GnnScorer(checkpoint))
    url, stop = serve(app)
    try:
        live = Live(url, key, key, keys_file, store)
        with live.client() as http:
            answer = http.post("/v1/applications", json=body(latest)).json()
            stored = http.get(f"/v1/applications/{latest['application_id']}").json()
    finally:
        stop()
    assert 0.0 <= answer["gnn_score"] <= 1.0
    assert answer["evidence"]["gnn"]["score"] == answer["gnn_score"]
    assert answer["score"] >= 0.9 * answer["gnn_score"] - 1e-4  # the lone-application rule
    assert stored["gnn_score"] == pytest.approx(answer["gnn_score"])


def test_a_missing_checkpoint_means_no_gnn_score(tmp_path: Path) -> None:
    scorer = GnnScorer(tmp_path / "nothing-here.pt")
    assert not scorer.available
