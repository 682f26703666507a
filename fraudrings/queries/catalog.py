"""The Cypher heuristics: discovery, headers, parameters, and running them on any store.

Each heuristic is one ``NAME.cypher`` file in this package. Its leading ``//`` comment block is
machine-readable::

    // name: shared_device
    // title: Devices shared by distinct applicants within a window
    // finds: what it finds (continuation lines are indented)
    // why: why it signals collusion and which legitimate sharing it excludes
    // params:
    // :param window_days => 30
    // returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail

The ``:param`` lines paste into Neo4j Browser as they are; a parameter's type is the type of its
default literal (``30`` int, ``4.0`` float, ``true`` bool, ``'x'`` string). The same text runs
on LadybugDB and Neo4j; where an engine truly needs another text, ``NAME.ladybug.cypher`` or
``NAME.neo4j.cypher`` beside it replaces the query for that backend only (the header stays the
base file's) and the parity test covers it.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

import pandas as pd

from fraudrings.graph.store import GraphStore

#: The columns every heuristic returns, in order.
COLUMNS = ("key", "kind", "value", "members", "applicants", "strength", "first_seen",
           "last_seen", "detail")
BACKENDS = ("ladybug", "neo4j")
HEADER_KEYS = ("name", "title", "finds", "why", "params", "returns")

Progress = Callable[[str, int, int], None]  # heuristic name, done, total

_HEADER = re.compile(r"^//\s?(.*)$")
_KEY = re.compile(r"^(name|title|finds|why|params|returns):\s*(.*)$")
_PARAM = re.compile(r"^:param\s+([A-Za-z_][A-Za-z0-9_]*)\s*=>\s*(.+?)\s*$")
_USED = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT = re.compile(r"(^|\s)//.*$", re.M)
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$")
_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


class HeuristicError(ValueError):
    """A heuristic is unknown, or its file breaks the header contract."""


class HeuristicParamError(ValueError):
    """A parameter is unknown to the heuristic or has the wrong type (message: one line)."""


@dataclass(frozen=True)
class Param:
    """One ``:param`` of a heuristic: its default and the type inferred from the literal."""

    name: str
    default: int | float | bool | str
    type: type
    literal: str

    def coerce(self, heuristic: str, value: Any) -> int | float | bool | str:
        """``value`` as this parameter's type, or :class:`HeuristicParamError`.

        Text is parsed (the CLI passes ``--param k=v`` strings); an int is accepted for a float
        and becomes a float, so both engines do float arithmetic; numbers are counts, windows and
        rates, so they may not be negative, NaN or infinite.
        """
        expected = _TYPE_WORDS[self.type]

        def wrong() -> HeuristicParamError:
            return HeuristicParamError(
                f"{heuristic}: parameter {self.name} must be {expected}, got {value!r}"
            )

        if self.type is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise wrong()
        if self.type is str:
            if isinstance(value, str):
                return value
            raise wrong()
        if isinstance(value, bool):  # bool is an int subclass: never a count
            raise wrong()
        if isinstance(value, str):
            text = value.strip()
            if _INT.match(text):
                value = int(text)
            elif self.type is float and _FLOAT.match(text):
                value = float(text)
            else:
                raise wrong()
        if hasattr(value, "item") and not isinstance(value, (int, float)):
            value = value.item()  # numpy scalars
        if self.type is int:
            if not isinstance(value, int):
                raise wrong()
            number: int | float = int(value)
        else:
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise wrong()
            number = float(value)
        if number < 0:
            raise HeuristicParamError(
                f"{heuristic}: parameter {self.name} must not be negative, got {value!r}"
            )
        return number


@dataclass(frozen=True)
class Heuristic:
    """A parsed ``.cypher`` heuristic."""

    name: str
    title: str
    finds: str
    why: str
    params: tuple[Param, ...]
    returns: tuple[str, ...]
    texts: Mapping[str, str] = field(repr=False)  # "" (portable) and backend overrides
    sources: Mapping[str, str] = field(repr=False)  # the files as written, same keys

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "no parameters"
        raise HeuristicParamError(f"{self.name}: unknown parameter {name!r} (it takes {known})")

    def bind(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overridden by ``params``, validated and typed."""
        bound = self.defaults
        for name, value in (params or {}).items():
            bound[name] = self.param(name).coerce(self.name, value)
        return bound

    def text(self, backend: str | None = None) -> str:
        """The query for ``backend``: its override if there is one, else the portable text."""
        return self.texts.get(backend or "", self.texts[""])

    def source(self, backend: str | None = None) -> str:
        """The file as written (header, ``:param`` lines and query) for ``backend``."""
        return self.sources.get(backend or "", self.sources[""])

    @property
    def overrides(self) -> tuple[str, ...]:
        return tuple(b for b in BACKENDS if b in self.texts)


# -- parsing -------------------------------------------------------------------------------------


def parse_literal(literal: str) -> tuple[Any, type]:
    """A ``:param`` default literal to (value, type)."""
    text = literal.strip()
    if _INT.match(text):
        return int(text), int
    if _FLOAT.match(text):
        return float(text), float
    if text.lower() in ("true", "false"):
        return text.lower() == "true", bool
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1], str
    raise ValueError(f"cannot infer a type from the literal {literal!r}")


def parse_header(source: str, origin: str = "") -> dict[str, Any]:
    """The header fields of one file: name, title, finds, why, params, returns."""
    fields: dict[str, Any] = {"params": []}
    current: str | None = None
    for line in source.splitlines():
        match = _HEADER.match(line.strip())
        if not match:
            break  # the header ends at the first line that is not a comment
        body = match.group(1)
        param = _PARAM.match(body.strip())
        if param:
            name, literal = param.groups()
            try:
                default, kind = parse_literal(literal)
            except ValueError as exc:
                raise HeuristicError(f"{origin}: parameter {name}: {exc}") from None
            if any(p.name == name for p in fields["params"]):
                raise HeuristicError(f"{origin}: parameter {name} declared twice")
            fields["params"].append(Param(name, default, kind, literal.strip()))
            current = None
            continue
        key = _KEY.match(body.strip())
        if key and key.group(1) not in fields:
            current = key.group(1)
            fields[current] = key.group(2).strip()
        elif key and key.group(1) == "params":
            current = None
        elif current and current in ("finds", "why", "title") and body.strip():
            fields[current] = f"{fields[current]} {body.strip()}".strip()  # continuation line
        else:
            current = None  # a free comment inside the header
    missing = [k for k in HEADER_KEYS if k != "params" and not fields.get(k)]
    if missing:
        raise HeuristicError(f"{origin}: header lacks {', '.join(missing)}")
    fields["returns"] = tuple(c.strip() for c in fields["returns"].split(",") if c.strip())
    return fields


def _query_part(source: str) -> str:
    """The text sent to the database: the file without its leading comment block."""
    lines = source.splitlines()
    start = 0
    while start < len(lines) and (not lines[start].strip()
                                  or lines[start].lstrip().startswith("//")):
        start += 1
    return "\n".join(lines[start:]).strip() + "\n"


def build(name: str, base: str, overrides: Mapping[str, str] | None = None) -> Heuristic:
    """A :class:`Heuristic` from its file text (and override texts by backend)."""
    fields = parse_header(base, f"{name}.cypher")
    if fields["name"] != name:
        raise HeuristicError(f"{name}.cypher: header names it {fields['name']!r}")
    if fields["returns"] != COLUMNS:
        raise HeuristicError(
            f"{name}.cypher: returns must be {', '.join(COLUMNS)}; it says "
            f"{', '.join(fields['returns'])}"
        )
    texts = {"": _query_part(base)}
    sources = {"": base}
    for backend, text in (overrides or {}).items():
        if backend not in BACKENDS:
            raise HeuristicError(f"{name}.{backend}.cypher: unknown backend {backend!r}")
        texts[backend] = _query_part(text)
        sources[backend] = text
    declared = {p.name for p in fields["params"]}
    for backend, text in texts.items():
        used = set(_USED.findall(_COMMENT.sub("", text)))
        where = f"{name}{'.' + backend if backend else ''}.cypher"
        if used - declared:
            raise HeuristicError(f"{where}: uses undeclared ${', $'.join(sorted(used - declared))}")
        if declared - used:
            raise HeuristicError(f"{where}: declares unused {', '.join(sorted(declared - used))}")
    return Heuristic(
        name=name, title=fields["title"], finds=fields["finds"], why=fields["why"],
        params=tuple(fields["params"]), returns=fields["returns"], texts=texts, sources=sources,
    )


@lru_cache(maxsize=1)
def _load() -> tuple[Heuristic, ...]:
    package = resources.files(__package__)
    files = {entry.name: entry.read_text(encoding="utf-8") for entry in package.iterdir()
             if entry.name.endswith(".cypher")}
    found = []
    for filename, text in sorted(files.items()):
        stem = filename[: -len(".cypher")]
        if "." in stem:
            name, _, backend = stem.partition(".")
            if f"{name}.cypher" not in files:
                raise HeuristicError(f"{filename}: override without {name}.cypher")
            if backend not in BACKENDS:
                raise HeuristicError(f"{filename}: unknown backend {backend!r}")
            continue
        overrides = {b: files[f"{stem}.{b}.cypher"] for b in BACKENDS
                     if f"{stem}.{b}.cypher" in files}
        found.append(build(stem, text, overrides))
    return tuple(found)


def catalog() -> list[Heuristic]:
    """Every heuristic shipped with the package, by name."""
    return list(_load())


def names() -> list[str]:
    return [h.name for h in _load()]


def get(name: str) -> Heuristic:
    for heuristic in _load():
        if heuristic.name == name:
            return heuristic
    raise HeuristicError(f"no heuristic {name!r} (known: {', '.join(names())})")


# -- running -------------------------------------------------------------------------------------


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "key": pd.Series(dtype=object), "kind": pd.Series(dtype=object),
        "value": pd.Series(dtype=object), "members": pd.Series(dtype=object),
        "applicants": pd.Series(dtype="int64"), "strength": pd.Series(dtype="float64"),
        "first_seen": pd.Series(dtype="int64"), "last_seen": pd.Series(dtype="int64"),
        "detail": pd.Series(dtype=object),
    })


def to_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows of a heuristic as the standard frame: typed, members sorted, strongest first.

    The engines differ in what they hand back (LadybugDB's sum() is a Decimal, collect() order
    is arbitrary on both), so everything is normalised here once.
    """
    records = []
    for row in rows:
        missing = [c for c in COLUMNS if c not in row]
        if missing:
            raise HeuristicError(f"result lacks column(s) {', '.join(missing)}")
        records.append({
            "key": str(row["key"]),
            "kind": str(row["kind"]),
            "value": str(row["value"]),
            "members": sorted({str(m) for m in (row["members"] or [])}),
            "applicants": _int(row["applicants"]),
            "strength": float(row["strength"]),
            "first_seen": _int(row["first_seen"]),
            "last_seen": _int(row["last_seen"]),
            "detail": "" if row["detail"] is None else str(row["detail"]),
        })
    if not records:
        return empty_frame()
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    frame = frame.sort_values(["strength", "key"], ascending=[False, True], kind="mergesort")
    return frame.reset_index(drop=True).astype({"applicants": "int64", "first_seen": "int64",
                                                "last_seen": "int64", "strength": "float64"})


def _int(value: Any) -> int:
    if isinstance(value, Decimal):
        return int(value)
    return int(value) if value is not None else 0


def run(store: GraphStore, heuristic: str | Heuristic,
        params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run one heuristic on ``store``; the standard columns, strongest evidence first.

    ``frame.attrs`` carries the heuristic's name, the bound parameters and the seconds taken.
    """
    h = get(heuristic) if isinstance(heuristic, str) else heuristic
    bound = h.bind(params)
    started = time.perf_counter()
    rows = store.query(h.text(store.backend), bound)
    frame = to_frame(rows)
    frame.attrs.update(heuristic=h.name, params=bound,
                       seconds=round(time.perf_counter() - started, 3))
    return frame


def run_all(store: GraphStore, params_by_name: Mapping[str, Mapping[str, Any]] | None = None,
            progress: Progress | None = None,
            only: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """Run every heuristic (or those named in ``only``) on ``store``.

    All parameters are validated before the first query runs, so a typo fails fast.
    """
    chosen = [get(n) for n in only] if only is not None else catalog()
    overrides = dict(params_by_name or {})
    for name in overrides:
        get(name)  # an unknown heuristic name is an error, not a silent no-op
    bound = {h.name: h.bind(overrides.get(h.name)) for h in chosen}
    results: dict[str, pd.DataFrame] = {}
    for done, h in enumerate(chosen, start=1):
        results[h.name] = run(store, h, bound[h.name])
        if progress:
            progress(h.name, done, len(chosen))
    return results
