"""From a graph export to the GNN's inputs: features a fraud modeller would choose.

Three groups, chosen so that the features of one application can be rebuilt from its
neighbourhood in the store (``score_application``) exactly as the whole book computes them:

* **application nodes** (every application, also a neighbour's): its own loan and clock —
  log amount, term, product, hour of day, weekday. Nothing that needs its links, so a
  neighbour two hops away costs one property read.
* **identifier nodes** (Phone, Device, Merchant, ...; one block per relationship into the
  label): how many applications use it, by how many distinct applicants, at how many merchants,
  over what time span, and its busiest 24 hours.
* **head features** (the application being scored, fed to the model's head only): per
  relationship, how many identifiers it has, how many applications used them before it in all
  time / the last 24 h / 7 days (bursts), by how many other applicants, and how many of those
  earlier applications turned out fraud or missed their first payment — *labels*. Only labels of
  applications in ``visible`` count (training: the training split only), only of applications
  at least ``label_lag`` seconds older (an outcome takes that long to come back), and never the
  application's own: features of a test application are the same with or without test labels.

Hubs are cut by one rule, used in the batch and the single-application path alike: an
identifier with more than ``hub_degree`` applications on a relationship (shop tablet, carrier
IP) is seen only through its size — no statistics, no bursts, no messages from its applications —
and a non-hub identifier passes messages from its ``fanout`` newest applications only. An
identifier that only one application uses links nothing and is left out of the graph (its
presence still counts in the head features); that removes most identifier nodes.
(``hub_degree`` 200 against 500 on generated books: the same AP within noise, and a
single-application neighbourhood of at most a few hundred rows instead of a thousand.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fraudrings.gnn.relations import APP, ID_LABELS, EdgeType, forward, links_into, reverse
from fraudrings.graph import schema
from fraudrings.graph.export import GraphExport

#: Bumped whenever a feature changes meaning, order or scaling; checkpoints record it.
FEATURE_VERSION = 1

DAY = 86_400
WINDOWS = (DAY, 7 * DAY)  # burst windows of the head features
_BIG = np.int64(1) << 34  # node code * _BIG + epoch seconds stays sortable as one int64 key

APP_FEATURES = (
    "log_amount", "amount_missing", "term_months", "log_term", "hour_sin", "hour_cos", "hour",
    *(f"weekday_{d}" for d in range(7)),
)
HEAD_FEATURES = ("links", "hub_links", "prior", "prior_24h", "prior_7d", "other_applicants",
                 "known_prior", "fraud_prior", "fpd_prior")
ID_FEATURES = ("log_degree", "hub", "log_applicants", "log_merchants", "log_span_days",
               "log_max_24h", "apps_per_applicant")


@dataclass(frozen=True)
class FeatureConfig:
    """What decides the features besides the data; stored in every checkpoint."""

    hub_degree: int = 200  # more applications than this on one relationship: a hub
    fanout: int = 16  # messages from this many newest applications of a non-hub identifier
    label_lag: int = 0  # seconds an outcome takes to come back (see module docstring)
    products: tuple[str, ...] = ("cash", "online", "pos")  # one-hot vocabulary, + "other"

    def as_dict(self) -> dict:
        return {**asdict(self), "products": list(self.products)}

    @classmethod
    def from_dict(cls, raw: Mapping) -> FeatureConfig:
        return cls(**{**raw, "products": tuple(raw["products"])})

    def app_columns(self) -> tuple[str, ...]:
        return (*APP_FEATURES, *(f"product_{p}" for p in self.products), "product_other")


def head_columns() -> tuple[str, ...]:
    return tuple(f"{link.type}.{name}" for link in schema.LINKS for name in HEAD_FEATURES)


def id_columns(label: str) -> tuple[str, ...]:
    return tuple(f"{link.type}.{name}" for link in links_into(label) for name in ID_FEATURES)


@dataclass
class GraphFeatures:
    """Raw (unnormalised) features and edges of one export; row order = the export's."""

    application_ids: np.ndarray
    app_x: np.ndarray  # (n, len(config.app_columns()))
    head_x: np.ndarray  # (n, len(head_columns())); zero rows for non-targets
    targets: np.ndarray  # bool (n,): rows whose head features were computed
    id_values: dict[str, np.ndarray]
    id_x: dict[str, np.ndarray]
    edges: dict[EdgeType, np.ndarray] = field(default_factory=dict)  # (2, E) int64

    @property
    def num_nodes(self) -> dict[str, int]:
        return {APP: len(self.application_ids),
                **{label: len(v) for label, v in self.id_values.items()}}


def product_vocabulary(products: pd.Series, limit: int = 12) -> tuple[str, ...]:
    """The products worth a one-hot column: the most frequent ``limit``, sorted."""
    counts = products.dropna().astype(str).value_counts()
    return tuple(sorted(counts.index[:limit]))


def build_features(
    export: GraphExport,
    config: FeatureConfig,
    *,
    visible: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    degrees: Mapping[str, Mapping[str, int]] | None = None,
) -> GraphFeatures:
    """Features and edges of ``export``.

    ``visible``: applications whose outcomes may be used (default: every known outcome).
    ``targets``: rows that need head features (default: all). ``degrees``: relationship ->
    identifier value -> number of applications, for identifiers whose applications are not all
    in ``export`` (the single-application path passes the store's counts).

    Plain numpy past the first lines: the same function serves a million applications and the
    few hundred around one application, where pandas' per-call overhead would dominate.
    """
    apps = export.applications
    n = len(apps)
    # every column once: a pandas column look-up costs tens of microseconds, which is most of
    # the cost on one application's neighbourhood
    columns = _Columns(apps)
    ids = columns.get("application_id", object)
    t = columns.get("applied_at", np.int64)
    rank = _time_rank(ids, t)
    targets = np.ones(n, dtype=bool) if targets is None else np.asarray(targets, dtype=bool)
    outcomes = _outcomes(columns, visible)
    applicant = _codes(columns.get("applicant_id", object))
    links = {link.type: _pairs(export.links.get(link.type)) for link in schema.LINKS}
    merchant = _merchant_codes(columns, links["AT_MERCHANT"])
    app_x = _application_features(t, columns, config)

    id_values: dict[str, np.ndarray] = {}
    id_x: dict[str, np.ndarray] = {}
    edges: dict[EdgeType, np.ndarray] = {}
    head = np.zeros((n, len(head_columns())), dtype=np.float64)
    for label in ID_LABELS:
        into = links_into(label)
        pairs = [links[link.type] for link in into]
        values, codes = _factorize([value for _, value in pairs])
        degs = [_degree(link.type, code, values, degrees) for link, code in zip(into, codes)]
        # an identifier only one application uses links nothing: its presence is a head
        # feature, and dropping it from the graph removes most identifier nodes
        shared = np.sum(degs, axis=0) >= 2 if degs else np.zeros(0, dtype=bool)
        new_code = np.cumsum(shared) - 1
        id_values[label] = values[shared]
        blocks = []
        for link, (app, _), code, deg in zip(into, pairs, codes, degs, strict=True):
            hub = deg > config.hub_degree
            col = list(schema.LINKS).index(link) * len(HEAD_FEATURES)
            block = _head_block(app, code, hub, targets, t, rank, applicant, outcomes, config)
            if block is not None:
                head[:, col:col + len(HEAD_FEATURES)] = block
            on = shared[code]
            app, code, deg, hub = app[on], new_code[code[on]], deg[shared], hub[shared]
            if not len(app):  # no shared identifier on this relationship: no edges
                edges[forward(link)] = edges[reverse(link)] = np.zeros((2, 0), dtype=np.int64)
                blocks.append(_identifier_block(app, app, deg, hub, t, applicant, merchant))
                continue
            keep = ~hub[code]
            app_kept, code_kept = app[keep], code[keep]
            newest = _newest(code_kept, rank[app_kept], config.fanout)
            edges[forward(link)] = np.stack([app_kept[newest], code_kept[newest]])
            edges[reverse(link)] = np.stack([code, app])
            blocks.append(_identifier_block(code_kept, app_kept, deg, hub, t, applicant,
                                            merchant))
        id_x[label] = (np.concatenate(blocks, axis=1) if blocks
                       else np.zeros((len(id_values[label]), 0)))
    head[~targets] = 0.0
    return GraphFeatures(
        application_ids=ids,
        app_x=app_x,
        head_x=np.log1p(head),
        targets=targets,
        id_values=id_values,
        id_x=id_x,
        edges=edges,
    )


def time_rank(apps: pd.DataFrame) -> np.ndarray:
    """Position of each row in (applied_at, application_id) order: 'newest' means highest."""
    return _time_rank(apps["application_id"].to_numpy(dtype=object),
                      apps["applied_at"].to_numpy(dtype=np.int64))


def _time_rank(ids: np.ndarray, t: np.ndarray) -> np.ndarray:
    order = np.lexsort((ids.astype(str), t))
    rank = np.empty(len(t), dtype=np.int64)
    rank[order] = np.arange(len(t))
    return rank


def application_features(apps: pd.DataFrame, config: FeatureConfig) -> np.ndarray:
    """An application's own loan and clock (see APP_FEATURES and the product one-hot)."""
    columns = _Columns(apps)
    return _application_features(columns.get("applied_at", np.int64), columns, config)


def _application_features(t: np.ndarray, frame: _Columns,
                          config: FeatureConfig) -> np.ndarray:
    amount = frame.get("amount", np.float64, np.nan)
    term = frame.get("term_months", np.float64, np.nan)
    hour = (t % DAY) / 3600.0
    weekday = ((t // DAY) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    angle = 2 * np.pi * hour / 24.0
    columns = [
        np.log1p(np.nan_to_num(np.maximum(amount, 0.0), nan=0.0)),
        np.isnan(amount).astype(np.float64),
        np.nan_to_num(term, nan=0.0),
        np.log1p(np.nan_to_num(np.maximum(term, 0.0), nan=0.0)),
        np.sin(angle),
        np.cos(angle),
        hour,
        *((weekday == d).astype(np.float64) for d in range(7)),
    ]
    product = frame.get("product", object, None)
    known = np.zeros(len(t), dtype=bool)
    for name in config.products:
        hit = product == name
        known |= hit
        columns.append(hit.astype(np.float64))
    columns.append((~known).astype(np.float64))
    return np.stack(columns, axis=1) if len(t) else np.zeros((0, len(columns)))


# -- internals --------------------------------------------------------------------------------


_NO_NA = object()


class _Columns:
    """A frame's columns by name, each as numpy, without pandas' machinery per look-up: a
    ``frame[name]`` costs tens of microseconds, which adds up to milliseconds on the dozen
    small frames of one application's neighbourhood (the API's path)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        names = frame.columns.tolist()
        try:  # each column's own array (ndarray or extension array), by position
            manager = frame._mgr
            arrays = [manager.iget_values(i) for i in range(len(names))]
        except AttributeError:  # pragma: no cover - another pandas
            arrays = [frame[name].array for name in names]
        self._arrays = dict(zip(names, arrays, strict=True))
        self.rows = len(frame)

    def __contains__(self, name: str) -> bool:
        return name in self._arrays

    def get(self, name: str, dtype: type | np.dtype, na_value: object = _NO_NA) -> np.ndarray:
        """As ``frame[name].to_numpy(dtype=dtype, na_value=na_value)``."""
        array = self._arrays[name]
        if isinstance(array, np.ndarray):
            if array.dtype != object or dtype is object:
                return array.astype(dtype, copy=False)  # nothing missing to replace
            array = pd.array(array)
        if na_value is _NO_NA:
            return array.to_numpy(dtype=dtype)
        return array.to_numpy(dtype=dtype, na_value=na_value)


@dataclass
class _Outcomes:
    known: np.ndarray  # float 0/1: outcome visible and known
    fraud: np.ndarray
    fpd: np.ndarray


def _outcomes(columns: _Columns, visible: np.ndarray | None) -> _Outcomes:
    is_fraud = columns.get("is_fraud", np.float64, np.nan)
    fpd = columns.get("fpd", np.float64, np.nan)
    see = (np.ones(len(is_fraud), dtype=bool) if visible is None
           else np.asarray(visible, dtype=bool))
    known = see & ~np.isnan(is_fraud)
    return _Outcomes(known=known.astype(np.float64),
                     fraud=(known & (is_fraud == 1)).astype(np.float64),
                     fpd=(see & (fpd == 1)).astype(np.float64))


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer codes of values (None / NaN -> -1); equal values, equal codes."""
    return _factorize_one(values)[0]


#: Up to this many values a dict factorizes faster than pandas (one application's neighbourhood).
_SMALL = 256


def _factorize_one(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize``: codes in order of first appearance (missing -1) and the uniques."""
    if len(values) > _SMALL or values.dtype != object:
        codes, uniques = pd.factorize(values)
        return codes.astype(np.int64), np.asarray(uniques, dtype=object)
    seen: dict[Any, int] = {}
    codes = np.fromiter((-1 if _missing(v) else seen.setdefault(v, len(seen))
                         for v in values.tolist()), dtype=np.int64, count=len(values))
    uniques = np.empty(len(seen), dtype=object)
    uniques[:] = list(seen)
    return codes, uniques


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _pairs(frame: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    if frame is None or not len(frame):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    columns = _Columns(frame)
    return columns.get("app", np.int64), columns.get("value", object)


def _factorize(columns: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """One code space for the values of several relationships into the same label."""
    joined = np.concatenate(columns) if columns else np.zeros(0, dtype=object)
    codes, uniques = _factorize_one(joined)
    splits = np.cumsum([len(c) for c in columns])[:-1]
    return uniques, np.split(codes, splits)


def _degree(rel: str, code: np.ndarray, values: np.ndarray,
            degrees: Mapping[str, Mapping[str, int]] | None) -> np.ndarray:
    """Applications per identifier on one relationship: counted here, or given."""
    deg = np.bincount(code, minlength=len(values)).astype(np.int64)
    given = degrees.get(rel) if degrees else None
    if given:
        deg = np.array([given.get(v, d) for v, d in zip(values, deg, strict=True)],
                       dtype=np.int64).reshape(len(values))
    return deg


def _merchant_codes(columns: _Columns, links: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Each application's merchant as an integer (-1: none). A ``merchant`` column wins over
    the ``AT_MERCHANT`` links (the single-application path knows the merchants of neighbours
    it did not expand)."""
    if "merchant" in columns:
        return _codes(columns.get("merchant", object, None))
    app, value = links
    merchant = np.full(columns.rows, None, dtype=object)
    if len(app):  # the smallest value when an application has several
        order = np.lexsort((value.astype(str), app))
        first = np.unique(app[order], return_index=True)[1]
        merchant[app[order][first]] = value[order][first]
    return _codes(merchant)


def _newest(code: np.ndarray, rank: np.ndarray, fanout: int) -> np.ndarray:
    """Mask of the pairs among the ``fanout`` newest applications of their identifier."""
    order = np.lexsort((-rank, code))
    sorted_code = code[order]
    start = np.searchsorted(sorted_code, sorted_code, side="left")
    position = np.arange(len(order)) - start
    keep = np.zeros(len(code), dtype=bool)
    keep[order[position < fanout]] = True
    return keep


def _identifier_block(code: np.ndarray, app: np.ndarray, deg: np.ndarray, hub: np.ndarray,
                      t: np.ndarray, applicant: np.ndarray, merchant: np.ndarray) -> np.ndarray:
    """ID_FEATURES of every identifier of one relationship (pairs of hubs already removed)."""
    n = len(deg)
    out = np.zeros((n, len(ID_FEATURES)), dtype=np.float64)
    out[:, 0] = np.log1p(deg)
    out[:, 1] = hub.astype(np.float64)
    if len(code) == 0:
        return out
    applicants = _distinct_per_node(code, applicant[app], n)
    has_merchant = merchant[app] >= 0
    merchants = _distinct_per_node(code[has_merchant], merchant[app][has_merchant], n)
    key = np.sort(code * _BIG + t[app])
    node = key // _BIG
    bounds = np.flatnonzero(np.diff(node)) + 1
    first, last = np.r_[0, bounds], np.r_[bounds, len(key)] - 1
    span = np.zeros(n)
    span[node[first]] = (key[last] - key[first]) / DAY
    in_day = np.searchsorted(key, key + DAY, side="left") - np.arange(len(key))
    busiest = np.zeros(n)
    busiest[node[first]] = np.maximum.reduceat(in_day, first)
    out[:, 2] = np.log1p(applicants)
    out[:, 3] = np.log1p(merchants)
    out[:, 4] = np.log1p(span)
    out[:, 5] = np.log1p(busiest)
    out[:, 6] = np.divide(deg, applicants, out=np.zeros(n), where=applicants > 0)
    out[hub, 2:] = 0.0
    return out


def _distinct_per_node(code: np.ndarray, other: np.ndarray, n: int) -> np.ndarray:
    if len(code) == 0:
        return np.zeros(n)
    key = np.unique(code * (int(other.max()) + 1) + other)
    return np.bincount(key // (int(other.max()) + 1), minlength=n).astype(np.float64)


def _head_block(app: np.ndarray, code: np.ndarray, hub: np.ndarray, targets: np.ndarray,
                t: np.ndarray, rank: np.ndarray, applicant: np.ndarray, outcomes: _Outcomes,
                config: FeatureConfig) -> np.ndarray | None:
    """HEAD_FEATURES (counts, before log1p) of the targets for one relationship; None when
    no target uses it (all zero)."""
    n = len(t)
    is_target = targets[app]
    if not is_target.any():  # most relationships of one application's neighbourhood
        return None
    out = np.zeros((n, len(HEAD_FEATURES)), dtype=np.float64)
    out[:, 0] = np.bincount(app[is_target], minlength=n)
    out[:, 1] = np.bincount(app[is_target & hub[code]], minlength=n)
    keep = ~hub[code]
    app, code = app[keep], code[keep]
    mine = is_target[keep]
    if not mine.any():
        return out
    # every pair of the relationship, sorted by (identifier, time): range counts are two
    # binary searches, label sums two look-ups in prefix sums
    order = np.lexsort((rank[app], code))
    s_app, s_code = app[order], code[order]
    key = s_code * _BIG + t[s_app]
    q_app, q_code = app[mine], code[mine]
    base = q_code * _BIG
    now = base + t[q_app]
    start = np.searchsorted(key, base, side="left")
    before = np.searchsorted(key, now, side="left")
    columns = {"prior": before - start}
    for name, window in zip(("prior_24h", "prior_7d"), WINDOWS, strict=True):
        columns[name] = before - np.searchsorted(key, now - window, side="left")
    lagged = np.minimum(np.searchsorted(key, now - config.label_lag, side="left"), before)
    for name, column in (("known", "known_prior"), ("fraud", "fraud_prior"),
                         ("fpd", "fpd_prior")):
        prefix = np.concatenate([[0.0], np.cumsum(getattr(outcomes, name)[s_app])])
        columns[column] = prefix[lagged] - prefix[start]
    # distinct other applicants before: applicants first seen on this identifier earlier,
    # minus this application's own applicant when it was seen there before
    width = int(applicant.max()) + 1
    pair = s_code * width + applicant[s_app]
    by_pair = np.lexsort((t[s_app], pair))
    pair_sorted = pair[by_pair]
    head_of = np.r_[True, pair_sorted[1:] != pair_sorted[:-1]]
    first_pair, first_t = pair_sorted[head_of], t[s_app][by_pair][head_of]
    first_key = np.sort(first_pair // width * _BIG + first_t)
    seen = np.searchsorted(first_key, now, side="left") - np.searchsorted(first_key, base,
                                                                         side="left")
    own_t = first_t[np.searchsorted(first_pair, q_code * width + applicant[q_app])]
    columns["other_applicants"] = seen - (own_t < t[q_app])
    for j, name in enumerate(HEAD_FEATURES[2:], start=2):
        out[:, j] = np.bincount(q_app, weights=np.asarray(columns[name], dtype=np.float64),
                                minlength=n)
    return out
