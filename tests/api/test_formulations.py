"""The neighbourhood fetch's two formulations (:class:`fraudrings.graph.store.Traits`) find the
same identifiers, degrees and members. The portable per-relationship texts run on every engine;
the compact ones, which Neo4j uses because it plans the long unions slowly, are run beside them
on Neo4j — so neither can drift from the other."""

from __future__ import annotations

from api_helpers import load_book, planted

from fraudrings.api.neighbourhood import identifiers
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
