"""One look for every picture of the graph: Neo4j Browser's style (GraSS) and the ring pictures.

``KIND_COLOURS`` is the one source of truth for colours: :mod:`fraudrings.sweep.pictures` and
the interactive ring page import it, and :func:`render_grass` generates ``style.grass`` from it
(the shipped file is that output; a test keeps the two equal).

GraSS selects nodes by label only, never by property, so "this application is in a ring" cannot
be styled from ``ring_id``: :func:`mark_ring_members` adds a ``:RingMember`` marker label on
Neo4j after a sweep's write-back. LadybugDB has one label per node, so there it does nothing.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from fraudrings.graph import schema

if TYPE_CHECKING:
    from fraudrings.graph.store import GraphStore

#: One colour per node kind (Neo4j Browser's own palette, so the defaults feel familiar).
KIND_COLOURS: dict[str, str] = {
    "Application": "#4C8EDA", "Applicant": "#8DCC93", "Phone": "#F79767", "Device": "#C990C0",
    "Merchant": "#F16667", "Agent": "#D9C8AE", "Email": "#57C7E3", "Ip": "#A5ABB6",
    "Address": "#FFC454", "BankAccount": "#ECB5C9", "Ring": "#DA113B", "Load": "#569480",
}

#: Marker label of applications that a sweep put in a ring (Neo4j only; see module docstring).
RING_MEMBER = schema.check_name(schema.RING_MEMBER)
#: Ring members keep the application's fill (the fill says what a node *is*) and get the Ring's
#: red as a thick border (the border says it is *in a ring*): an alarm colour of their own
#: would clash with Merchant red and Phone orange, and a member must still read as an
#: application next to the ring it belongs to.
RING_MEMBER_COLOUR = KIND_COLOURS["Application"]
RING_MEMBER_BORDER = KIND_COLOURS["Ring"]

#: Node captions: the key a person searches for. Ring ids alone say nothing, so a Ring also
#: shows how many applications it holds (GraSS cannot format the score: it shows 17 digits).
NODE_CAPTIONS: dict[str, str] = {
    "Application": "{application_id}",
    "Ring": "{ring_id} {size} apps",
    "Load": "{source}",
    **{kind.label: "{value}" for kind in schema.IDENTIFIERS},
}

#: Relationship captions that read as a sentence from the application outwards.
REL_CAPTIONS: dict[str, str] = {
    "BY_APPLICANT": "by applicant",
    "USES_PHONE": "own phone",
    "LISTS_CONTACT": "lists as contact",
    "FROM_DEVICE": "filled on",
    "AT_MERCHANT": "at merchant",
    "KEYED_BY": "keyed by agent",
    "USES_EMAIL": "e-mail",
    "FROM_IP": "from IP",
    "AT_ADDRESS": "lives at",
    "PAYS_TO": "paid into",
    schema.IN_RING: "in ring",
}

#: Diameters: rings largest, hubs (shops, agents) next, applications, then plain identifiers.
_DIAMETERS = {"Ring": "100px", "Merchant": "60px", "Agent": "60px", "Application": "50px",
              "Load": "40px"}
_IDENTIFIER_DIAMETER = "50px"  # a phone number or an IP needs the room for its caption


def text_colour(background: str) -> str:
    """White on dark fills, near-black on light ones (WCAG relative luminance)."""
    r, g, b = (int(background[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return "#2A2C34" if luminance > 0.35 else "#FFFFFF"


def border_colour(fill: str, factor: float = 0.78) -> str:
    """A darker shade of the fill, as Browser draws its own default borders."""
    channels = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{int(c * factor):02X}" for c in channels)


def grass_rules() -> dict[str, dict[str, str]]:
    """Selector -> properties, in the order Browser applies them (later rules win)."""
    rules: dict[str, dict[str, str]] = {
        "node": {"diameter": "40px", "color": "#A5ABB6", "border-color": "#9AA1AC",
                 "border-width": "2px", "text-color-internal": "#FFFFFF", "font-size": "9px"},
        "relationship": {"color": "#A5ABB6", "shaft-width": "1px", "font-size": "8px",
                         "padding": "3px", "text-color-external": "#000000",
                         "text-color-internal": "#FFFFFF", "caption": "<type>"},
    }
    for kind in schema.NODE_KINDS:
        fill = KIND_COLOURS[kind.label]
        rules[f"node.{kind.label}"] = {
            "color": fill,
            "border-color": border_colour(fill),
            "text-color-internal": text_colour(fill),
            "diameter": _DIAMETERS.get(kind.label, _IDENTIFIER_DIAMETER),
            "caption": NODE_CAPTIONS[kind.label],
        }
        if kind in schema.IDENTIFIERS:
            rules[f"node.{kind.label}"]["font-size"] = "8px"
    # Browser drops a caption word wider than the node's chord: a 17-character ring id needs
    # about 86px at 9px, inside a 100px ring.
    rules["node.Ring"].update({"border-width": "4px", "font-size": "9px"})
    # After node.Application: for a node with both labels this rule is applied last and wins.
    rules[f"node.{RING_MEMBER}"] = {
        "color": RING_MEMBER_COLOUR,
        "border-color": RING_MEMBER_BORDER,
        "border-width": "5px",
        "text-color-internal": text_colour(RING_MEMBER_COLOUR),
        "diameter": "55px",
        "caption": NODE_CAPTIONS["Application"],
    }
    for rel_type in (*(link.type for link in schema.LINKS), schema.IN_RING):
        rules[f"relationship.{rel_type}"] = {"caption": REL_CAPTIONS[rel_type]}
    rules[f"relationship.{schema.IN_RING}"].update(
        {"color": KIND_COLOURS["Ring"], "shaft-width": "2px"})
    return rules


def render_grass() -> str:
    """The GraSS text (regenerate the shipped file with ``fraudrings browser style --write``).

    Browser's GraSS parser knows no comments (one would become part of the next selector),
    splits declarations on ':' and ';' and strips quotes: so no comment, no value holding ':'
    or ';', and captions quoted so that their braces survive.
    """
    lines: list[str] = []
    for selector, props in grass_rules().items():
        lines.append(f"{selector} {{")
        for key, value in props.items():
            if ":" in value or ";" in value:
                raise ValueError(f"GraSS value {value!r} of {selector} holds ':' or ';'")
            shown = f'"{value}"' if key in ("caption", "defaultCaption") else value
            lines.append(f"  {key}: {shown};")
        lines.append("}")
    return "\n".join(lines) + "\n"


def grass_path() -> Path:
    """The shipped ``style.grass`` inside the installed package."""
    return Path(str(resources.files("fraudrings.browser").joinpath("style.grass")))


def write_grass(path: Path | None = None) -> Path:
    target = path or grass_path()
    target.write_text(render_grass(), encoding="utf-8")
    return target


def supports_marker_labels(store: GraphStore) -> bool:
    """Only Neo4j gives a node several labels; LadybugDB tables hold one each."""
    return store.traits.multiple_labels


def mark_ring_members(store: GraphStore) -> int:
    """Make ``:RingMember`` exactly the applications with an IN_RING link; the member count.

    Call after every write-back (full or ``--since``): stale marks are removed first, so the
    label always agrees with the rings in the store. A no-op returning 0 on LadybugDB.
    """
    if not supports_marker_labels(store):
        return 0
    label, ring, in_ring = RING_MEMBER, schema.RING.label, schema.IN_RING
    store.write([
        (f"MATCH (a:{label}) WHERE NOT (a)-[:{in_ring}]->(:{ring}) REMOVE a:{label}", {}),
        (f"MATCH (a:{schema.APPLICATION.label})-[:{in_ring}]->(:{ring}) "
         f"WHERE NOT a:{label} SET a:{label}", {}),
    ])
    rows = store.query(f"MATCH (a:{label}) RETURN count(a) AS n")
    return int(rows[0]["n"]) if rows else 0
