"""Neo4j specifics: a transaction's runs of one text go as one statement, and do what the
statements did one after the other."""

from __future__ import annotations

import pytest

from fraudrings.graph.backends.neo4j.store import batched
from fraudrings.graph.store import GraphStore

SET = "MERGE (n:Phone {value: $v}) SET n.note = $note"
OTHER = "MATCH (n:Phone {value: $v}) SET n.other = $note"


def test_a_run_of_one_text_becomes_one_statement_in_order() -> None:
    statements = [(SET, {"v": "1", "note": "a"}), (SET, {"v": "2", "note": "b", "unused": 0}),
                  (OTHER, {"v": "1", "note": "c"}), (SET, {"v": "3", "note": "d"})]
    sent = batched(statements)
    assert len(sent) == 3
    text, params = sent[0]
    assert text == ("UNWIND $rows AS batchrow CALL (batchrow) { MERGE (n:Phone {value: "
                    "batchrow.v}) SET n.note = batchrow.note }")
    assert params == {"rows": [{"v": "1", "note": "a"}, {"v": "2", "note": "b"}]}
    assert sent[1:] == statements[2:]  # runs of one are sent as they are


@pytest.mark.parametrize("text", [
    "MATCH (n:Phone {value: $v}) RETURN n.value AS v",  # returns rows
    "MERGE (n:Phone {value: $v}) SET n.note = 'costs $5'",  # a $ that is no parameter
    "MERGE (n:Phone {value: $v}) SET n.`weird` = $note",
    "MERGE (batchrow:Phone {value: $v})",  # the row's own name
    "MERGE (n:Phone {value: $0})",
], ids=["returns", "quoted", "backticks", "row name", "numbered parameter"])
def test_texts_that_could_read_differently_are_sent_as_they_are(text: str) -> None:
    statements = [(text, {"v": "1", "note": "a", "0": "x"}), (text, {"v": "2", "note": "b",
                                                                      "0": "y"})]
    assert batched(statements) == statements


def test_a_run_missing_a_parameter_is_sent_as_it_is() -> None:
    statements = [(SET, {"v": "1", "note": "a"}), (SET, {"v": "2"})]  # the server will say
    assert batched(statements) == statements


def test_a_batched_run_does_what_the_statements_did_one_by_one(neo4j_store: GraphStore) -> None:
    # a later row sees what an earlier one merged, and sets after it; all or nothing
    neo4j_store.write([(SET, {"v": "shared", "note": f"n{k}"}) for k in range(5)]
                      + [(SET, {"v": "own", "note": "x"}), (OTHER, {"v": "own", "note": "y"})])
    rows = neo4j_store.query("MATCH (n:Phone) RETURN n.value AS v, n.note AS note, "
                             "n.other AS other ORDER BY v")
    assert rows == [{"v": "own", "note": "x", "other": "y"},
                    {"v": "shared", "note": "n4", "other": None}]
    create = "CREATE (n:Phone {value: $v})"
    with pytest.raises(Exception, match="(?i)already exists"):
        neo4j_store.write([(create, {"v": "new"}), (create, {"v": "own"})])  # "own" is taken
    assert neo4j_store.count("Phone") == 2  # "new" was rolled back with the failing row
