"""The ring links in memory answer what the Cypher texts answer: after the build, after
arrivals through the group commit, and after a write behind the API's back (a rebuild)."""

from __future__ import annotations

import functools

import pytest
from api_helpers import body, load_book, planted, portfolio

from fraudrings.api.commits import GroupCommit
from fraudrings.api.neighbourhood import HUB_CAP, fetch, identifiers, indexed_identifiers
from fraudrings.graph.linkindex import LinkIndex
from fraudrings.graph.load import insert_application, load_batch
from fraudrings.graph.store import GraphStore
from fraudrings.loaders.contract import validate
from fraudrings.loaders.single import validate_one


def view(found: dict) -> dict:
    return {key: (ident.degree, {rel: sorted(apps) for rel, apps in ident.members.items()})
            for key, ident in found.items()}


def compare(store: GraphStore, links: LinkIndex, app_ids: list[str]) -> tuple[int, int]:
    """Every application's identifiers both ways, with and without known ones skipped;
    (identifiers with members, hubs) seen, so that the caller knows what was covered."""
    shared = hubs = 0
    for app_id in app_ids:
        cypher = identifiers(store, app_id)
        assert view(indexed_identifiers(links, app_id)) == view(cypher), app_id
        skip = {key for key, ident in cypher.items() if ident.members}
        assert view(indexed_identifiers(links, app_id, skip)) == view(
            identifiers(store, app_id, skip))
        shared += len(skip)
        hubs += sum(ident.degree > HUB_CAP for ident in cypher.values())
    return shared, hubs


@pytest.fixture
def arrivals() -> list[dict]:
    book = portfolio()
    late = []
    for typology in ("device_farm", "contact_clique", "synthetic_identity", "bust_out"):
        late += [body(r) for _, r in planted(book, typology).iloc[2:].iterrows()]
    late += [body(r) for _, r in book.applications.iloc[-40:].iterrows()]
    return [validate_one(b) for b in late]


def test_the_index_answers_what_the_store_answers(ladybug_store: GraphStore,
                                                  arrivals: list[dict]) -> None:
    store = ladybug_store
    book = load_book(store, without={r["application_id"] for r in arrivals})
    links = LinkIndex(store)
    links.rebuild()
    commits = GroupCommit(store, links=links)
    for row in arrivals:  # through the API's write path: the index learns each one
        assert insert_application(store, row, functools.partial(commits.write, inserted=[row]))
    commits.close()
    assert links.generation == store.generation and links.current() and links.rebuilds == 1
    sample = list(book.applications["application_id"].iloc[::60])
    sample += [r["application_id"] for r in arrivals]
    shared, hubs = compare(store, links, sample)
    assert shared >= 20 and hubs >= 5  # members and hub degrees were both compared
    # what the API's submit relies on to skip its lookup: the index holds every stored id
    stored = {r["id"] for r in store.query("MATCH (a:Application) RETURN a.application_id AS id")}
    assert all(links.holds(app_id) for app_id in stored)
    assert not links.holds("never-posted")


def test_a_write_behind_the_apis_back_is_noticed(ladybug_store: GraphStore,
                                                 arrivals: list[dict]) -> None:
    store = ladybug_store
    later = {r["application_id"] for r in arrivals}
    book = load_book(store, without=later)
    links = LinkIndex(store)
    links.rebuild()
    apps = book.applications
    load_batch(store, validate(apps[apps["application_id"].isin(later)]))  # not through the API
    assert links.generation != store.generation
    assert links.current() and links.rebuilds == 2  # rebuilt on the next question
    compare(store, links, sorted(later))
    # the whole fetch agrees too, from the index or from the store
    for app_id in sorted(later)[:15]:
        a, b = fetch(store, app_id, links=links), fetch(store, app_id)
        assert (a.own.keys(), a.hop1, sorted(map(str, a.rows))) == (
            b.own.keys(), b.hop1, sorted(map(str, b.rows)))


def test_an_unknown_application_has_no_identifiers(ladybug_store: GraphStore) -> None:
    links = LinkIndex(ladybug_store)
    links.rebuild()  # an empty store builds an empty index
    assert indexed_identifiers(links, "nobody") == {} == identifiers(ladybug_store, "nobody")
