"""``fraudrings queries list|show`` and ``run_command`` (wired by the top-level CLI)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from fraudrings.graph.store import GraphStore
from fraudrings.queries import catalog
from fraudrings.queries.cli import (
    browser_param_command,
    browser_text,
    parse_params,
    queries_group,
    run_command,
)


def test_list_shows_every_heuristic_with_its_parameters() -> None:
    result = CliRunner().invoke(queries_group, ["list"], terminal_width=250)
    assert result.exit_code == 0, result.output
    for h in catalog.catalog():
        assert h.name in result.output
    assert "window_days=30" in result.output


def test_show_prints_a_browser_ready_paste() -> None:
    result = CliRunner().invoke(queries_group, ["show", "shared_device"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    command = next(line for line in lines if line.startswith(":param ["))
    assert command.startswith(":param [{window_days, min_applicants, max_applicants, "
                              "max_applications}] => { RETURN 30 AS window_days, ")
    assert "// name: shared_device" in lines and "// :param window_days => 30" in lines
    assert "MATCH (x)<-[:FROM_DEVICE]-(a:Application)" in result.output


def test_the_parameter_command_keeps_integers_integers(seeded_ladybug: GraphStore) -> None:
    # Browser evaluates the command's RETURN on the server: so does this test
    heuristic = catalog.get("velocity_identifier")
    returned = browser_param_command(heuristic).split("=> {", 1)[1].rstrip("} ")
    values = seeded_ladybug.query(returned)[0]
    assert values == heuristic.defaults
    assert [type(v) for v in values.values()] == [p.type for p in heuristic.params]


@pytest.mark.parametrize("name", catalog.names())
def test_no_semicolon_in_a_heuristic_file(name: str) -> None:
    # Browser's multi-statement editor splits on ';', in comments and strings too
    assert all(";" not in source for source in catalog.get(name).sources.values())
    assert browser_text(catalog.get(name)).count(";") == 0


def test_show_params_only_and_unknown_name() -> None:
    result = CliRunner().invoke(queries_group, ["show", "velocity_identifier", "--params-only"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == ":param window_hours => 24"
    assert ":param min_ratio => 4.0" in result.output.splitlines()
    missing = CliRunner().invoke(queries_group, ["show", "nope"])
    assert missing.exit_code == 1 and "no heuristic 'nope'" in missing.output


def test_run_command_takes_text_parameters(seeded_ladybug: GraphStore) -> None:
    frame = run_command(seeded_ladybug, "shared_device", ["min_applicants=4"])
    assert frame["key"].tolist() == ["Device:dev-ag9"]
    frame = run_command(seeded_ladybug, "shared_device", {"min_applicants": "4"})
    assert frame["key"].tolist() == ["Device:dev-ag9"]
    assert parse_params(["a=1", " b = x "]) == {"a": "1", "b": "x"}
    with pytest.raises(catalog.HeuristicParamError, match="expected NAME=VALUE"):
        parse_params(["window_days"])


def test_run_command_opens_and_closes_a_store_factory(seeded_ladybug: GraphStore) -> None:
    opened: list[str] = []

    class Borrowed:
        """Hands out the seeded store and records the close."""

        def __enter__(self) -> GraphStore:
            opened.append("open")
            return seeded_ladybug

        def __exit__(self, *exc: object) -> None:
            opened.append("closed")

    frame = run_command(Borrowed, "contact_cycle", {})
    assert len(frame) == 1 and opened == ["open", "closed"]


def test_run_command_refuses_bad_parameters_before_opening(seeded_ladybug: GraphStore) -> None:
    opened: list[str] = []

    def factory() -> GraphStore:
        opened.append("open")
        return seeded_ladybug

    with pytest.raises(catalog.HeuristicParamError, match="min_applicants must be an integer"):
        run_command(factory, "shared_device", {"min_applicants": "many"})
    assert opened == []
