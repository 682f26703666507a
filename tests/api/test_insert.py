"""The API's one-statement insert stores exactly what a bulk load of the same rows stores, on
both stores: the same properties, links and identifier nodes (one per value, however many links
reach it); a retry stores nothing, other content under a stored id is refused."""

from __future__ import annotations

import pandas as pd
import pytest
from api_helpers import portfolio

from fraudrings.graph import schema
from fraudrings.graph.load import application_frame, insert_application, link_frames
from fraudrings.graph.store import GraphStore
from fraudrings.loaders.contract import to_text
from fraudrings.loaders.single import validate_one

_PROPS = ", ".join(f"a.{p.name} AS {p.name}" for p in schema.APPLICATION.properties)


def rows() -> list[dict]:
    apps = to_text(portfolio().applications.head(25)).to_dict("records")
    apps[0]["contact_phones"] = f"{apps[0]['phone']};{apps[1]['phone']};89120000001"
    apps[1]["device_id"], apps[2]["device_id"] = "shared tablet", "shared tablet"
    apps[3].update(email="", ip="", address="", bank_account="", contact_phones="")
    apps[4]["address"] = "`Application`) WITH * CALL db.labels() //"
    return [validate_one(r) for r in apps]


@pytest.mark.parametrize("together", [False, True], ids=["one by one", "one transaction"])
def test_insert_stores_what_a_bulk_load_stores(store: GraphStore, together: bool) -> None:
    sample = rows()
    if together:  # as the API's group commit sends them (Neo4j: the inserts in one statement)
        statements: list = []
        for row in sample:
            assert insert_application(store, row, statements.extend) is True
        store.write(statements)
    else:
        for row in sample:
            assert insert_application(store, row) is True
    frame = pd.DataFrame(sample)
    expected_links = {(rel, r["from"], r["to"]) for rel, pairs in link_frames(frame).items()
                      for r in pairs.to_dict("records")}
    stored_links = {
        (rel, r["a"], r["v"]) for rel in (link.type for link in schema.LINKS)
        for r in store.query(f"MATCH (a:Application)-[:{rel}]->(n) "
                             "RETURN a.application_id AS a, n.value AS v")}
    assert stored_links == expected_links
    for link in schema.LINKS:  # one node per value
        values = {v for rel, _, v in expected_links
                  if schema.link(rel).target == link.target}
        assert store.count(link.target) == len(values), link.target
    expected_props = application_frame(frame).astype(object).where(
        application_frame(frame).notna(), None).to_dict("records")
    stored = store.query(f"MATCH (a:Application) RETURN {_PROPS} ORDER BY a.application_id")
    for want, got in zip(sorted(expected_props, key=lambda r: r["application_id"]), stored):
        assert {k: v for k, v in got.items() if v is not None} == {
            k: v for k, v in want.items() if v is not None}


def test_a_transaction_with_a_taken_id_stores_nothing(store: GraphStore) -> None:
    first, second, third = rows()[:3]
    insert_application(store, first)
    statements: list = []
    for row in (second, first, third):  # the middle one is stored already
        insert_application(store, row, statements.extend)
    with pytest.raises(Exception):  # noqa: B017 - each engine raises its own error type
        store.write(statements)
    assert store.count("Application") == 1
    assert store.count("Device") == 1 and store.count_rels("FROM_DEVICE") == 1


def test_a_retry_stores_nothing_and_other_content_is_refused(store: GraphStore) -> None:
    row = rows()[0]
    assert insert_application(store, row) is True
    before = store.count("Phone"), store.count_rels("LISTS_CONTACT")
    assert insert_application(store, row) is False
    with pytest.raises(Exception):  # noqa: B017 - each engine raises its own error type
        insert_application(store, {**row, "amount": 1.0, "content_hash": "0" * 16,
                                   "device_id": "another"})
    assert (store.count("Phone"), store.count_rels("LISTS_CONTACT")) == before
    assert store.count("Application") == 1 and store.count("Device") == 1
