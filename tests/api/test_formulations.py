"""The neighbourhood fetch's two formulations (:class:`fraudrings.graph.store.Traits`) find the
same identifiers, degrees and members. The portable per-relationship texts run on every engine;
the compact ones, which Neo4j uses because it plans the long unions slowly, are run beside them
on Neo4j — so neither can drift from the other."""

from __future__ import annotations

from api_helpers import body, load_book, planted, portfolio

from fraudrings.api.commits import GroupCommit, ReadBack
from fraudrings.api.models import ApplicationIn
from fraudrings.api.neighbourhood import (
    anchors_and_properties,
    anchors_then_properties,
    compact_rows,
    identifiers,
    identifiers_each_statement,
)
from fraudrings.api.validation import validate_application
from fraudrings.graph.load import insert_application
from fraudrings.graph.store import GraphStore


def view(found: dict) -> dict:
    return {key: (ident.degree, {rel: sorted(apps) for rel, apps in ident.members.items()})
            for key, ident in found.items()}


def test_compact_and_portable_texts_find_the_same_on_neo4j(neo4j_store: GraphStore) -> None:
    book = load_book(neo4j_store)
    apps = book.applications
    sample = list(apps["application_id"].iloc[::150])  # ordinary applications, hubs among them
    for typology in ("device_farm", "contact_clique", "synthetic_identity"):
        sample += list(planted(book, typology)["application_id"])  # shared, below the hub cut
    shared = 0
    for app_id in sample:
        compact = view(identifiers(neo4j_store, app_id, compact=True))
        portable = view(identifiers(neo4j_store, app_id, compact=False))
        assert compact == portable, app_id
        known = sorted(key for key, (_, members) in compact.items() if members)
        if known:  # an identifier already known (``skip``) is counted, not followed again
            shared += 1
            skip = {known[0]}
            compact = view(identifiers(neo4j_store, app_id, skip, compact=True))
            assert compact == view(identifiers(neo4j_store, app_id, skip, compact=False))
            assert not compact[known[0]][1]
    assert shared >= 10  # the comparison covered members, not only degrees


def each(store: GraphStore, anchors: list[str], skip: frozenset) -> list[dict]:
    """:data:`COMPACT_IDENTIFIERS_EACH` run for ``anchors``: each one's identifiers, in order."""
    rows: dict[str, list] = {app: [] for app in anchors}
    for row in store.query(*identifiers_each_statement(anchors, skip)):
        rows[row["anchor"]].append(row)
    return [compact_rows(rows[app]) for app in anchors]


def test_one_statement_for_many_finds_what_one_each_finds(neo4j_store: GraphStore) -> None:
    """Several applications in one statement (the read-back of a group's inserts, and the
    anchors of a request): each gets what its own lookup gets, with and without identifiers
    to skip."""
    book = load_book(neo4j_store)
    anchors = list(planted(book, "device_farm")["application_id"])
    anchors += list(planted(book, "contact_clique")["application_id"])
    anchors += list(book.applications["application_id"].iloc[::400])  # sharing nothing
    own = identifiers(neo4j_store, anchors[0], compact=False)
    shared = {key for key, ident in own.items() if ident.members}
    assert shared  # a planted ring member shares identifiers below the hub cut
    for skip in (frozenset(), frozenset(shared)):
        found_each = each(neo4j_store, anchors, skip)
        assert len(found_each) == len(anchors)
        for app_id, found in zip(anchors, found_each, strict=True):
            assert view(found) == view(identifiers(neo4j_store, app_id, skip, compact=False))
        assert sum(bool(ident.members) for found in found_each for ident in found.values()) >= 5
    assert neo4j_store.query(*identifiers_each_statement([])) == []


def test_many_at_once_portably(ladybug_store: GraphStore) -> None:
    """On LadybugDB the anchors are the per-application lookup, in order."""
    book = load_book(ladybug_store)
    anchors = list(planted(book, "device_farm")["application_id"])[:4]
    found_each, _ = anchors_then_properties(ladybug_store, anchors, frozenset(), set(anchors))
    assert [view(f) for f in found_each] == [
        view(identifiers(ladybug_store, a)) for a in anchors]


def test_identifiers_read_back_at_insert_are_those_read_after_the_commit(
    neo4j_store: GraphStore,
) -> None:
    """On Neo4j the API reads a new application's own identifiers last in the transaction
    that inserts it (``ReadBack``): what a lookup after the commit finds."""
    book = portfolio()
    late = planted(book, "device_farm").iloc[3:7]
    load_book(neo4j_store, without=set(late["application_id"]))
    commits = GroupCommit(neo4j_store, read_back=ReadBack(identifiers_each_statement, "anchor"))
    shared = 0
    for _, member in late.iterrows():
        row = validate_application(ApplicationIn(**body(member)).contract_row())
        sent: list = []
        assert insert_application(neo4j_store, row, sent.append)  # the statements, not run
        read = commits.write(sent[0], inserted=[row])
        after = identifiers(neo4j_store, row["application_id"], compact=False)
        assert read is not None and view(compact_rows(read)) == view(after)
        shared += any(ident.members for ident in after.values())
    assert shared == len(late)  # each shares the farm's device with the ones before it
    commits.close()


def test_anchors_and_properties_in_one_statement_as_in_two(neo4j_store: GraphStore) -> None:
    """On Neo4j a request with neighbours gets its anchors' identifiers and everyone's
    properties in one statement: what the two steps (the portable path) give."""
    book = load_book(neo4j_store)
    sample = list(book.applications["application_id"].iloc[::300])
    for typology in ("device_farm", "contact_clique", "synthetic_identity"):
        sample += list(planted(book, typology)["application_id"])
    checked = 0
    for app_id in sample:
        known = {k: v for k, v in identifiers(neo4j_store, app_id).items() if v.members}
        anchors = sorted(set().union(*(v.applications for v in known.values())) - {app_id})
        reached = {app_id}.union(*(v.applications for v in known.values()))
        two = anchors_then_properties(neo4j_store, anchors, frozenset(known), reached)
        one = anchors_and_properties(neo4j_store, anchors, frozenset(known), reached)
        assert [view(f) for f in one[0]] == [view(f) for f in two[0]], app_id
        assert one[1] == two[1], app_id
        checked += bool(anchors)
    assert checked >= 10
    # no anchors at all: the properties of what is reached
    assert anchors_and_properties(neo4j_store, [], frozenset(), {sample[0]})[1] == (
        anchors_then_properties(neo4j_store, [], frozenset(), {sample[0]})[1])
