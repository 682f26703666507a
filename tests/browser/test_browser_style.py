"""The Browser style: one source of colours, every kind and relationship styled, text that
Browser's own GraSS parser reads back exactly, and the :RingMember marker label."""

from __future__ import annotations

import re

import pytest

from fraudrings.browser import style
from fraudrings.graph import schema
from fraudrings.graph.store import GraphStore


def browser_parse_grass(text: str) -> dict[str, dict[str, str]]:
    """A line-by-line port of Neo4j Browser 5.24's ``parseGrass`` (the ``:style <url>`` path:
    JSON first, else this character scanner): quotes toggle a string and are dropped, braces
    outside strings are dropped, declarations split on ';' then ':' (exactly two parts)."""
    import json

    try:
        return json.loads(text)
    except ValueError:
        pass
    in_string = in_block = nested = False
    key = value = ""
    blocks: dict[str, str] = {}
    for char in text:
        structural = True
        if char == "{":
            if in_string:
                structural = False
            elif in_block:
                nested = True
            else:
                in_block = True
        elif char == "}":
            if in_string:
                structural = False
            elif nested:
                nested = False
            else:
                in_block = False
                blocks[key] = value
                key = value = ""
        elif char in "'\"":
            in_string = not in_string
        else:
            structural = False
        if not structural:
            if in_block:
                value += char
            elif not re.match(r"\s", char):
                key += char
    parsed: dict[str, dict[str, str]] = {}
    for selector, body in blocks.items():
        parsed[selector] = {}
        for declaration in body.split(";"):
            parts = declaration.split(":")
            if len(parts) == 2:
                parsed[selector][parts[0].strip()] = parts[1].strip()
    return parsed


def test_the_shipped_grass_is_generated_from_the_colours() -> None:
    shipped = style.grass_path().read_text(encoding="utf-8")
    assert shipped == style.render_grass(), "regenerate: fraudrings browser style --write"


def test_browser_reads_back_every_rule_exactly() -> None:
    parsed = browser_parse_grass(style.render_grass())
    assert parsed == style.grass_rules()
    # captions keep their braces: Browser fills {application_id} from the node
    assert parsed["node.Application"]["caption"] == "{application_id}"
    assert parsed["node.Ring"]["caption"] == "{ring_id} {size} apps"


def test_every_node_kind_and_relationship_has_colour_and_caption() -> None:
    rules = style.grass_rules()
    hex_colour = re.compile(r"^#[0-9A-F]{6}$")
    for kind in schema.NODE_KINDS:
        rule = rules[f"node.{kind.label}"]
        assert hex_colour.match(rule["color"]) and hex_colour.match(rule["border-color"])
        assert rule["color"] == style.KIND_COLOURS[kind.label]
        assert re.search(r"\{\w+\}", rule["caption"])
        props = {p.name for p in kind.properties}
        assert set(re.findall(r"\{(\w+)\}", rule["caption"])) <= props
    for rel_type in schema.REL_TYPES:
        caption = rules[f"relationship.{rel_type}"]["caption"]
        assert caption and caption == caption.lower() or "IP" in caption
        assert "_" not in caption  # reads as words, not as the type name
    assert len(set(style.KIND_COLOURS.values())) == len(style.KIND_COLOURS)


def test_ring_members_and_rings_are_told_apart() -> None:
    rules = style.grass_rules()
    order = list(rules)
    member = rules[f"node.{style.RING_MEMBER}"]
    # Browser applies rules in order: the marker rule must come after node.Application
    assert order.index(f"node.{style.RING_MEMBER}") > order.index("node.Application")
    assert member["border-color"] == style.KIND_COLOURS["Ring"] != rules["node.Application"][
        "border-color"]
    assert int(member["border-width"][:-2]) >= 2 * int(rules["node"]["border-width"][:-2])
    assert int(rules["node.Ring"]["diameter"][:-2]) > int(member["diameter"][:-2])
    assert rules["node.Ring"]["color"] != member["color"]


def test_the_ring_pictures_use_the_same_colours() -> None:
    from fraudrings.sweep import pictures

    assert pictures.KIND_COLOURS is style.KIND_COLOURS


def test_text_is_readable_on_every_fill() -> None:
    assert style.text_colour("#FFFFFF") == "#2A2C34"
    assert style.text_colour("#000000") == "#FFFFFF"
    assert style.border_colour("#FFFFFF") == "#C6C6C6"


def test_marking_ring_members_is_a_no_op_on_ladybug(ladybug_store: GraphStore) -> None:
    assert style.mark_ring_members(ladybug_store) == 0


@pytest.mark.neo4j
def test_ring_member_marks_follow_the_rings(neo4j_store: GraphStore) -> None:
    from fraudrings.graph.load import load_batch
    from fraudrings.loaders.contract import validate
    from fraudrings.loaders.generator import generate_portfolio

    load_batch(neo4j_store, validate(generate_portfolio(300, seed=5).applications))
    ids = [r["id"] for r in neo4j_store.query(
        "MATCH (a:Application) RETURN a.application_id AS id ORDER BY id LIMIT 6")]
    neo4j_store.write([
        ("UNWIND $rings AS r CREATE (:Ring {ring_id: r.id})", {"rings": [{"id": "r1"},
                                                                        {"id": "r2"}]}),
        ("UNWIND $links AS l MATCH (a:Application {application_id: l.a}) "
         "MATCH (g:Ring {ring_id: l.r}) CREATE (a)-[:IN_RING]->(g)",
         {"links": [{"a": a, "r": "r1" if i < 3 else "r2"} for i, a in enumerate(ids)]}),
    ])
    assert style.mark_ring_members(neo4j_store) == 6
    labels = neo4j_store.query(
        f"MATCH (a:{style.RING_MEMBER}) RETURN labels(a) AS labels LIMIT 1")[0]["labels"]
    assert set(labels) == {"Application", style.RING_MEMBER}
    # a later sweep drops ring r2: its members lose the mark, and marking twice changes nothing
    neo4j_store.write([("MATCH (g:Ring {ring_id: 'r2'}) DETACH DELETE g", {})])
    assert style.mark_ring_members(neo4j_store) == 3
    assert style.mark_ring_members(neo4j_store) == 3
    marked = {r["id"] for r in neo4j_store.query(
        f"MATCH (a:{style.RING_MEMBER}) RETURN a.application_id AS id")}
    assert marked == set(ids[:3])
