"""The runner: header parsing, parameter typing and validation, override files."""

from __future__ import annotations

import pytest

from fraudrings.graph.store import GraphStore
from fraudrings.queries import catalog
from fraudrings.queries.catalog import HeuristicError, HeuristicParamError

HEADER = """// name: demo
// title: A demo heuristic
// finds: Applications,
//   on two lines.
// why: Because.
// params:
// :param window_days => 30
// :param ratio => 2.5
// :param strict => true
// :param label => 'Device'
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
"""
QUERY = """MATCH (a:Application)
WHERE a.applied_at >= $window_days AND $ratio > 0.0 AND $strict AND $label <> ''
RETURN 'k:' + a.application_id AS key, $label AS kind, a.application_id AS value,
       [a.application_id] AS members, 1 AS applicants, 0.5 AS strength,
       a.applied_at AS first_seen, a.applied_at AS last_seen, 'portable' AS detail
"""


def demo(**overrides: str) -> catalog.Heuristic:
    return catalog.build("demo", HEADER + QUERY, overrides)


def test_header_is_parsed_with_typed_parameters() -> None:
    h = demo()
    assert (h.name, h.title, h.finds, h.why) == (
        "demo", "A demo heuristic", "Applications, on two lines.", "Because.")
    assert [(p.name, p.default, p.type) for p in h.params] == [
        ("window_days", 30, int), ("ratio", 2.5, float), ("strict", True, bool),
        ("label", "Device", str)]
    assert h.returns == catalog.COLUMNS
    assert h.text().startswith("MATCH (a:Application)")  # the header is not sent


@pytest.mark.parametrize("heuristic", catalog.catalog(), ids=lambda h: h.name)
def test_every_shipped_file_is_complete(heuristic: catalog.Heuristic) -> None:
    assert heuristic.title and heuristic.finds and heuristic.why
    assert heuristic.params, "hub cut-offs and windows must be parameters"
    assert heuristic.returns == catalog.COLUMNS
    assert catalog.get(heuristic.name) is heuristic


def test_binding_types_values() -> None:
    h = demo()
    assert h.bind() == {"window_days": 30, "ratio": 2.5, "strict": True, "label": "Device"}
    bound = h.bind({"window_days": "7", "ratio": 3, "strict": "false", "label": "Phone"})
    assert bound == {"window_days": 7, "ratio": 3.0, "strict": False, "label": "Phone"}
    assert isinstance(bound["ratio"], float)  # an int for a float becomes a float
    assert h.bind({"ratio": "1e-2"})["ratio"] == 0.01


@pytest.mark.parametrize(("params", "expected"), [
    ({"window_days": "abc"}, "demo: parameter window_days must be an integer, got 'abc'"),
    ({"window_days": 1.5}, "demo: parameter window_days must be an integer, got 1.5"),
    ({"window_days": True}, "demo: parameter window_days must be an integer, got True"),
    ({"window_days": None}, "demo: parameter window_days must be an integer, got None"),
    ({"ratio": "fast"}, "demo: parameter ratio must be a number, got 'fast'"),
    ({"ratio": float("nan")}, "demo: parameter ratio must be a number, got nan"),
    ({"strict": "maybe"}, "demo: parameter strict must be true or false, got 'maybe'"),
    ({"label": 3}, "demo: parameter label must be a string, got 3"),
    ({"window_days": -1}, "demo: parameter window_days must not be negative, got -1"),
    ({"windw_days": 3}, "demo: unknown parameter 'windw_days' (it takes window_days, ratio, "
                        "strict, label)"),
])
def test_bad_parameters_fail_with_one_clear_line(params: dict, expected: str) -> None:
    with pytest.raises(HeuristicParamError) as caught:
        demo().bind(params)
    assert str(caught.value) == expected
    assert isinstance(caught.value, ValueError)


def test_run_rejects_a_bad_parameter_before_querying(seeded_ladybug: GraphStore) -> None:
    with pytest.raises(HeuristicParamError, match="shared_device: parameter window_days must "
                                                  "be an integer, got 'abc'"):
        catalog.run(seeded_ladybug, "shared_device", {"window_days": "abc"})
    with pytest.raises(HeuristicParamError, match="unknown parameter 'window'"):
        catalog.run(seeded_ladybug, "shared_device", {"window": 3})


def test_run_all_validates_everything_first(seeded_ladybug: GraphStore) -> None:
    ran: list[str] = []
    with pytest.raises(HeuristicParamError, match="velocity_identifier: parameter min_ratio"):
        catalog.run_all(seeded_ladybug, {"velocity_identifier": {"min_ratio": "x"}},
                        progress=lambda name, done, total: ran.append(name))
    assert ran == []
    with pytest.raises(HeuristicError, match="no heuristic 'nope'"):
        catalog.run_all(seeded_ladybug, {"nope": {}})


def test_unknown_heuristic() -> None:
    with pytest.raises(HeuristicError, match="no heuristic 'shared_sock'"):
        catalog.get("shared_sock")


@pytest.mark.parametrize(("text", "message"), [
    (HEADER.replace("// title: A demo heuristic\n", ""), "header lacks title"),
    (HEADER.replace("name: demo", "name: other"), "header names it 'other'"),
    (HEADER.replace(", detail", ""), "returns must be"),
    (HEADER.replace("=> 2.5", "=> fast"), "cannot infer a type"),
    (HEADER.replace("// :param label => 'Device'\n", ""), "uses undeclared $label"),
])
def test_malformed_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(HeuristicError, match=message.replace("$", r"\$")):
        catalog.build("demo", text + QUERY)


def test_unused_parameter_is_refused() -> None:
    with pytest.raises(HeuristicError, match="declares unused extra"):
        catalog.build("demo", HEADER.replace("// returns", "// :param extra => 1\n// returns")
                      + QUERY)


def test_override_file_replaces_the_query_for_its_backend_only(seeded_ladybug: GraphStore) -> None:
    override = QUERY.replace("'portable'", "'ladybug only'")
    h = demo(ladybug=override)
    assert h.overrides == ("ladybug",)
    assert "ladybug only" in h.text("ladybug") and "portable" in h.text("neo4j")
    assert "portable" in h.text()
    frame = catalog.run(seeded_ladybug, h, {"window_days": 0})
    assert set(frame["detail"]) == {"ladybug only"}  # chosen by store.backend
    with pytest.raises(HeuristicError, match="unknown backend"):
        demo(memgraph=override)
