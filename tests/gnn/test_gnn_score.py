"""fraudrings.gnn.score / fetch: one application scored from its neighbourhood in a real
LadybugDB equals its score in the whole book."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudrings.gnn.checkpoint import Checkpoint
from fraudrings.gnn.features import FeatureConfig
from fraudrings.gnn.fetch import UnknownApplication, expansion_query, fetch_neighbourhood
from fraudrings.gnn.score import score_application, score_book, write_scores
from fraudrings.gnn.train import TrainConfig, train_gnn
from fraudrings.graph.export import GraphExport, export_graph
from fraudrings.graph.linkindex import LinkIndex
from fraudrings.graph.load import insert_application, load_batch
from fraudrings.graph.store import GraphStore
from fraudrings.loaders.contract import Batch, validate
from fraudrings.loaders.generator import Portfolio

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def tiny_model(tiny_export: GraphExport, tiny_config: FeatureConfig) -> Checkpoint:
    return train_gnn(tiny_export, TrainConfig(epochs=3, hidden=8),
                     feature_config=tiny_config).checkpoint


@pytest.fixture(scope="module")
def book_model(portfolio_export: GraphExport) -> Checkpoint:
    return train_gnn(portfolio_export, TrainConfig(epochs=3, hidden=8)).checkpoint


def test_every_inductive_score_equals_the_batch_score(tiny_store: GraphStore,
                                                      tiny_model: Checkpoint) -> None:
    # tiny hub and fanout limits: hubs, capped identifiers, contacts, a family, a ring
    book = score_book(tiny_store, tiny_model)
    assert book.name == "gnn_score" and len(book) == 60
    for application_id, batch in book.items():
        one = score_application(tiny_store, application_id, tiny_model)
        assert one.score == pytest.approx(batch, abs=TOLERANCE), application_id


def test_inductive_equals_batch_on_a_generated_book(portfolio_store: GraphStore,
                                                    book_model: Checkpoint,
                                                    portfolio: Portfolio) -> None:
    book = score_book(portfolio_store, book_model)
    fraud = portfolio.labels.loc[portfolio.labels["true_fraud"] == 1, "application_id"]
    rng = np.random.default_rng(0)
    sample = [*rng.choice(book.index.to_numpy(), 25, replace=False), *fraud.iloc[:15]]
    for application_id in sample:
        one = score_application(portfolio_store, application_id, book_model)
        assert one.score == pytest.approx(book[application_id], abs=TOLERANCE)
        assert one.flagged == (one.score >= book_model.threshold)


def test_a_new_application_is_scored_from_its_neighbourhood(tiny_store: GraphStore,
                                                            tiny_model: Checkpoint) -> None:
    row = validate(pd.DataFrame([{
        "application_id": "NEW-1", "applied_at": "2025-05-01T23:50:00",
        "applicant_id": "P-NEW", "device_id": "FARM-1", "bank_account": "MULE-1",
        "phone": "+7 900 555 0001", "amount": "9000", "term_months": "12",
        "product": "online"}])).rows.iloc[0].to_dict()
    insert_application(tiny_store, row)
    one = score_application(tiny_store, "NEW-1", tiny_model)
    assert one.score == pytest.approx(score_book(tiny_store, tiny_model)["NEW-1"],
                                      abs=TOLERANCE)
    assert one.neighbours >= 4  # the farm device's and the mule account's applications
    assert one.model_ms > 0 and one.fetch_ms > 0


def test_unknown_application(tiny_store: GraphStore, tiny_model: Checkpoint) -> None:
    with pytest.raises(UnknownApplication, match="no application 'nope'"):
        score_application(tiny_store, "nope", tiny_model)


def test_scores_are_written_back(tiny_store: GraphStore, tiny_model: Checkpoint) -> None:
    book = score_book(export_graph(tiny_store), tiny_model)
    assert write_scores(tiny_store, book, chunk=7) == 60
    stored = tiny_store.query_frame(
        "MATCH (a:Application) RETURN a.application_id AS id, a.gnn_score AS s")
    stored = stored.set_index("id")["s"].reindex(book.index)
    assert np.allclose(stored.to_numpy(), book.to_numpy())


def test_same_cypher_on_every_store(store: GraphStore, tiny_model: Checkpoint,
                                    tiny_export: GraphExport, tiny_batch: Batch) -> None:
    """The neighbourhood queries run unchanged on LadybugDB and Neo4j (the ``store`` fixture
    runs once per backend) and give the batch score of the rows' own export."""
    load_batch(store, tiny_batch)
    book = score_book(tiny_export, tiny_model)
    for application_id in ("A003", "A031", "A044", "A050", "A005"):
        one = score_application(store, application_id, tiny_model)
        assert one.score == pytest.approx(book[application_id], abs=TOLERANCE)


def test_merchants_of_the_neighbours_are_joined_after_the_expansion() -> None:
    """The OPTIONAL MATCH of a neighbour's merchant follows a WITH: joined straight onto the
    expansion, LadybugDB planned it against every merchant link of the store (seconds per
    request at 100k applications; see bench/gnn.py scale)."""
    text = expansion_query([("USES_PHONE", "USES_PHONE"), ("PAYS_TO", "PAYS_TO")])
    branches = text.split(" UNION ALL ")
    assert len(branches) == 2
    for branch in branches:
        expand, merchant = branch.split("OPTIONAL MATCH")
        assert expand.rstrip().endswith("WITH k, j")


def _same(a: tuple[GraphExport, dict], b: tuple[GraphExport, dict]) -> None:
    """The same neighbourhood: the application first, then the same rows and links in any
    order (a store returns rows in no fixed order; the model's mean does not care)."""
    def content(export: GraphExport) -> tuple:
        apps = export.applications.astype(object).where(export.applications.notna(), None)
        ids = apps["application_id"].tolist()
        rows = sorted(map(tuple, apps.itertuples(index=False)))
        links = {rel: sorted((ids[a], v) for a, v in zip(f["app"], f["value"]))
                 for rel, f in export.links.items()}
        return ids[0], rows, links

    (export_a, degrees_a), (export_b, degrees_b) = a, b
    assert content(export_a) == content(export_b)
    assert degrees_a == degrees_b


def test_the_links_in_memory_give_the_same_neighbourhood(portfolio_store: GraphStore,
                                                         book_model: Checkpoint,
                                                         portfolio: Portfolio) -> None:
    links = LinkIndex(portfolio_store)
    links.rebuild()
    book = score_book(portfolio_store, book_model)
    fraud = portfolio.labels.loc[portfolio.labels["true_fraud"] == 1, "application_id"]
    config = book_model.feature_config
    expanded = 0
    for application_id in [*book.index[::97], *fraud.iloc[:15]]:
        from_memory = fetch_neighbourhood(portfolio_store, application_id, config, links)
        _same(from_memory, fetch_neighbourhood(portfolio_store, application_id, config))
        expanded += from_memory[0].n > 1
        one = score_application(portfolio_store, application_id, book_model, links)
        assert one.score == pytest.approx(book[application_id], abs=TOLERANCE)
    assert expanded >= 10  # neighbours were fetched, not only the application itself
    with pytest.raises(UnknownApplication):
        fetch_neighbourhood(portfolio_store, "nope", config, links)


def test_the_links_in_memory_on_hubs_and_capped_identifiers(tiny_store: GraphStore,
                                                            tiny_model: Checkpoint) -> None:
    links = LinkIndex(tiny_store)
    links.rebuild()
    book = score_book(tiny_store, tiny_model)
    for application_id, batch in book.items():
        _same(fetch_neighbourhood(tiny_store, application_id, tiny_model.feature_config, links),
              fetch_neighbourhood(tiny_store, application_id, tiny_model.feature_config))
        one = score_application(tiny_store, application_id, tiny_model, links)
        assert one.score == pytest.approx(batch, abs=TOLERANCE), application_id
