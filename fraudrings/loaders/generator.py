"""Synthetic consumer-lender portfolio with planted fraud rings and legitimate-sharing decoys.

The portfolio is what a Russian consumer lender's book looks like to fraudrings: point-of-sale
loans keyed by sales agents in partner shops, online loans and cash loans (partly through call
centres) over ``months`` months, with daily / weekly / yearly seasonality and a growth trend.

Into the honest bulk it plants collusive rings of five typologies (device farm, colluding sales
agent, synthetic / recycled identities, emergency-contact clique, sleeper bust-out) and the
ordinary sharing that a naive detector confuses with them (shop tablets, carrier NAT and office
IPs, families, repeat customers, call-centre workstations). Rings are camouflaged: members also
carry fresh identifiers, some use honest hubs, no identifier is shared by every member and their
timing is spread; ``difficulty`` turns all of that up.

How it is built, for speed (1M applications in well under a minute): every identifier is first
an integer drawn from one counter per kind (so two values are equal only when the generator meant
them to be shared), the honest bulk is generated as numpy arrays, rings and decoys are small
Python loops, and all formatting to strings happens once at the end through keyed bijections (a
Feistel permutation), so ids look random but never collide by accident.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fraudrings.graph.schema import CONTRACT_FIELDS

__all__ = ["DECOY_KINDS", "GENERATOR_VERSION", "TYPOLOGIES", "Portfolio", "generate_portfolio"]

#: Bumped when the same seed would produce a different portfolio.
GENERATOR_VERSION = 1

TYPOLOGIES = ("device_farm", "agent_collusion", "synthetic_identity", "contact_clique", "bust_out")
DECOY_KINDS = ("shop_tablet", "carrier_ip", "office_ip", "family", "repeat_customer",
               "call_centre")
#: When an application sits in several decoys, labels.csv names the most specific one.
_DECOY_PRIORITY = ("family", "repeat_customer", "shop_tablet", "call_centre", "office_ip",
                   "carrier_ip")

PRODUCTS = ("pos", "online", "cash")
POS, ONLINE, CASH = 0, 1, 2
HONEST, FRAUD, SLEEPER = 0, 1, 2  # SLEEPER: a bust-out identity's early, repaid loan
DAY = 86_400

_PRODUCT_MIX = (0.50, 0.32, 0.18)
_REPEAT_SHARE = 0.07  # persons with 2-4 applications
_FAMILY_SHARE = 0.06  # persons living in a 2-5 person household that also borrows
_LONE_FRAUD_SHARE = 0.003  # fraud with no ring behind it
_FRAUD_FPD = 0.85  # fraud mostly misses the first payment; sleepers never do
_MIN_DECOY_HUB = 10  # a tablet with fewer honest applications is not worth listing

#: Identifier columns of the raw table; contacts c1..c3 live in the phone namespace.
_ID_COLS = ("applicant", "phone", "c1", "c2", "c3", "device", "merchant", "agent", "email", "ip",
            "address", "bank")
_KIND = {c: ("phone" if c in ("c1", "c2", "c3") else c) for c in _ID_COLS}
_RAW_DTYPES: dict[str, Any] = {
    **{c: np.int64 for c in _ID_COLS},
    "t": np.int64, "amount": np.float64, "term": np.int64, "product": np.int8,
    "fraud": np.int8, "label_t": np.int64, "ring": np.int32, "person": np.int64,
    "household": np.int64, "stolen": np.bool_, "boost": np.float64,
}
Raw = dict[str, np.ndarray]
Progress = Callable[[int], None]

# Local clock profiles (the lender's clock is written as UTC): shops open 10-21, call centres
# 8-20, online peaks in the evening.
_HOURS = {
    POS: (1, 0, 0, 0, 0, 0, 1, 2, 4, 8, 30, 55, 70, 80, 80, 80, 85, 95, 100, 95, 75, 45, 8, 2),
    ONLINE: (30, 20, 12, 8, 6, 7, 12, 25, 45, 60, 68, 72, 75, 75, 72, 72, 75, 82, 92, 100, 100,
             92, 70, 45),
    CASH: (1, 0, 0, 0, 0, 0, 1, 3, 40, 85, 100, 100, 90, 95, 100, 95, 90, 80, 60, 35, 5, 2, 1, 1),
}
_FARM_HOURS = tuple(50 + (30 if h < 6 else 0) for h in range(24))  # farms work at night too
_WEEKDAY = {  # Monday first
    POS: (1.0, 0.98, 1.0, 1.04, 1.15, 1.35, 1.25),
    ONLINE: (1.15, 1.05, 1.0, 1.0, 0.95, 0.85, 0.9),
    CASH: (1.1, 1.1, 1.05, 1.05, 1.0, 0.7, 0.5),
}
_MONTH = {POS: {1: 0.85, 2: 0.9, 11: 1.2, 12: 1.45}, ONLINE: {1: 1.1, 12: 1.15},
          CASH: {3: 1.05, 4: 1.05, 12: 0.9}}

_PHONE_TEMPLATES = (  # 'd' = next digit of the 10-digit national number 9XXXXXXXXX
    ("+7 ddd ddd-dd-dd", 0.30), ("8dddddddddd", 0.24), ("+7dddddddddd", 0.20),
    ("8 (ddd) ddd-dd-dd", 0.10), ("(ddd) ddd dddd", 0.06), ("7dddddddddd", 0.05),
    ("ddd-ddd-dd-dd", 0.05),
)
_N_MALE = 12  # the first 12 first names are male: their surnames take no -a
_FIRST = ("ivan", "dmitry", "sergey", "alexey", "andrey", "pavel", "nikolay", "maxim", "artem",
          "igor", "oleg", "roman", "anna", "elena", "olga", "natalia", "maria", "irina", "tatiana",
          "svetlana", "ekaterina", "yulia", "daria", "victoria", "ksenia", "alina")
_LAST = ("ivanov", "smirnov", "kuznetsov", "popov", "vasiliev", "petrov", "sokolov", "mikhailov",
         "novikov", "fedorov", "morozov", "volkov", "alekseev", "lebedev", "semenov", "egorov",
         "pavlov", "kozlov", "stepanov", "nikolaev", "orlov", "andreev", "makarov", "zakharov")
_SEPS = ("", ".", "_")
_DOMAINS = (("mail.ru", 0.30), ("yandex.ru", 0.25), ("gmail.com", 0.20), ("bk.ru", 0.07),
            ("list.ru", 0.06), ("inbox.ru", 0.05), ("rambler.ru", 0.04), ("icloud.com", 0.03))
_IP_FIRST_OCTETS = (5, 31, 37, 46, 77, 78, 79, 80, 81, 82, 83, 84, 85, 87, 89, 91, 92, 93, 94,
                    95, 109, 128, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217)


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------


@dataclass
class Portfolio:
    """A generated book: the input-contract table, the planted truth and per-application labels."""

    applications: pd.DataFrame
    truth: dict[str, Any]
    labels: pd.DataFrame

    def write(self, out_dir: str | Path, fmt: str = "parquet") -> dict[str, Path]:
        """Write applications.{parquet|csv|jsonl}, ground_truth.json and labels.csv."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        fmt = {"json": "jsonl", "ndjson": "jsonl"}.get(fmt.lower(), fmt.lower())
        if fmt not in ("parquet", "csv", "jsonl"):
            raise ValueError(f"unknown format {fmt!r}: use parquet, csv or jsonl")
        paths = {"applications": out / f"applications.{fmt}",
                 "ground_truth": out / "ground_truth.json", "labels": out / "labels.csv"}
        _write_table(self.applications, paths["applications"], fmt)
        paths["ground_truth"].write_text(_truth_json(self.truth), encoding="utf-8")
        self.labels.to_csv(paths["labels"], index=False, lineterminator="\n")
        return paths


def generate_portfolio(n_applications: int, seed: int = 0, *, months: int = 12,
                       ring_share: float = 0.02, start: str = "2025-01-01",
                       label_lag_days: int = 60, fraud_label_coverage: float = 0.8,
                       fpd_noise: float = 0.04, difficulty: float = 1.0,
                       progress: Progress | None = None) -> Portfolio:
    """Generate ``n_applications`` applications; the same arguments give byte-identical files.

    ``ring_share`` is the approximate fraction of applications in planted rings (bust-out rings
    count their sleepers' early loans too). ``progress`` is called with the number of rows done,
    non-decreasing, ending at ``n_applications``.
    """
    _check_args(n_applications, months, ring_share, label_lag_days, fraud_label_coverage,
                fpd_noise, difficulty)
    report = _monotone(progress)
    rng_world, rng_rings, rng_bulk, rng_order, rng_labels = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5))
    t0, span = _time_span(start, months)
    ids = _Ids()
    world = _build_world(n_applications, t0, span, ids, rng_world)

    planter = _Planter(world, ids, rng_rings, difficulty)
    planter.plant_rings(round(ring_share * n_applications), n_applications)
    planter.plant_lone_fraud(round(_LONE_FRAUD_SHARE * n_applications))
    special = planter.frame()
    n_bulk = n_applications - len(special["t"])
    if n_bulk < 1:
        raise ValueError("n_applications too small for the requested rings")
    report(len(special["t"]))

    bulk = _honest_bulk(n_bulk, world, ids, rng_bulk)
    _steal_identities(special, bulk["applicant"], rng_rings)
    report(n_applications // 3)

    raw = _concat([special, bulk])
    order = np.lexsort((rng_order.random(n_applications), raw["t"]))  # ties broken at random
    raw = {k: v[order] for k, v in raw.items()}
    applications = _format(raw, seed, rng_order)
    cutoff = t0 + span - label_lag_days * DAY
    applications["is_fraud"], applications["fpd"] = _outcomes(
        raw, cutoff, fraud_label_coverage, fpd_noise, rng_labels)
    report(n_applications * 9 // 10)

    params = {"months": months, "ring_share": ring_share, "start": start,
              "label_lag_days": label_lag_days, "fraud_label_coverage": fraud_label_coverage,
              "fpd_noise": fpd_noise, "difficulty": difficulty,
              "end": _iso(t0 + span), "label_cutoff": _iso(cutoff),
              "lone_fraud_share": _LONE_FRAUD_SHARE, "generator_version": GENERATOR_VERSION}
    truth, labels = _ground_truth(raw, applications, world, planter.typologies, seed, params)
    report(n_applications)
    return Portfolio(applications=applications, truth=truth, labels=labels)


def _monotone(progress: Progress | None) -> Progress:
    """Progress bars only move forward: report the most rows done so far."""
    done = 0

    def report(rows: int) -> None:
        nonlocal done
        done = max(done, rows)
        if progress is not None:
            progress(done)

    return report


def _check_args(n: int, months: int, ring_share: float, lag: int, coverage: float,
                fpd_noise: float, difficulty: float) -> None:
    if n < 1 or months < 1 or lag < 0 or difficulty < 0:
        raise ValueError("n_applications and months must be positive; lag, difficulty >= 0")
    if not (0 <= ring_share < 0.5 and 0 <= coverage <= 1 and 0 <= fpd_noise <= 1):
        raise ValueError("ring_share must be in [0, 0.5); coverage and fpd_noise in [0, 1]")


# ----------------------------------------------------------------------------------------------
# Identifier allocation and the world (merchants, hubs, clock)
# ----------------------------------------------------------------------------------------------


class _Ids:
    """One counter per identifier kind: equal integers only where sharing is intended."""

    def __init__(self) -> None:
        self.next: dict[str, int] = dict.fromkeys(_KIND.values(), 0)

    def fresh(self, kind: str, count: int) -> np.ndarray:
        first = self.next[kind]
        self.next[kind] = first + int(count)
        return np.arange(first, first + int(count), dtype=np.int64)

    def one(self, kind: str) -> int:
        self.next[kind] += 1
        return self.next[kind] - 1


@dataclass
class _World:
    """Everything shared across the book: the clock, merchants and their staff, the hubs."""

    t0: int
    span: int
    days: int
    day_cdf: np.ndarray  # (3, days) per product: trend x weekday x month
    hour_cdf: np.ndarray  # (3, 24) per product
    merchant: np.ndarray
    merchant_cdf: np.ndarray
    merchant_ip: np.ndarray
    agent: np.ndarray
    agent_start: np.ndarray
    agent_count: np.ndarray
    tablet: np.ndarray
    tablet_start: np.ndarray
    tablet_count: np.ndarray
    carrier_ip: np.ndarray
    carrier_cdf: np.ndarray
    office_ip: np.ndarray
    office_cdf: np.ndarray
    centre_ip: np.ndarray
    centre_cdf: np.ndarray
    workstation: np.ndarray
    ws_start: np.ndarray
    ws_count: np.ndarray


def _time_span(start: str, months: int) -> tuple[int, int]:
    begin = pd.Timestamp(start)
    begin = (begin.tz_convert(None) if begin.tzinfo else begin).normalize()  # UTC midnight
    end = begin + pd.DateOffset(months=months)
    return int(begin.value // 10**9), int((end - begin).total_seconds())


def _iso(epoch: int) -> str:
    return str(np.datetime64(int(epoch), "s"))


def _cdf(weights: np.ndarray | Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    return cdf


def _pick(cdf: np.ndarray, rng: np.random.Generator, size: int | None = None) -> Any:
    """Weighted choice by inverse CDF: cheap enough to call per ring member."""
    return np.searchsorted(cdf, rng.random(size), side="right")


def _build_world(n: int, t0: int, span: int, ids: _Ids, rng: np.random.Generator) -> _World:
    days = span // DAY
    n_merchants = max(8, round(n * _PRODUCT_MIX[POS] / 350))
    size = rng.lognormal(0.0, 1.0, n_merchants)  # a few big chains, many small shops
    agent_count = rng.integers(2, 7, n_merchants)
    tablet_count = 1 + (size > np.median(size)) + (size > np.quantile(size, 0.9))
    n_carriers, n_offices = max(4, round(n / 15_000)), max(3, round(n / 20_000))
    n_centres = 1 + n // 400_000
    ws_count = rng.integers(8, 31, n_centres)
    return _World(
        t0=t0, span=span, days=days, day_cdf=_day_cdfs(t0, days),
        hour_cdf=np.stack([_cdf(_HOURS[p]) for p in (POS, ONLINE, CASH)]),
        merchant=ids.fresh("merchant", n_merchants), merchant_cdf=_cdf(size),
        merchant_ip=ids.fresh("ip", n_merchants),
        agent=ids.fresh("agent", int(agent_count.sum())),
        agent_start=np.cumsum(agent_count) - agent_count, agent_count=agent_count,
        tablet=ids.fresh("device", int(tablet_count.sum())),
        tablet_start=np.cumsum(tablet_count) - tablet_count, tablet_count=tablet_count,
        carrier_ip=ids.fresh("ip", n_carriers), carrier_cdf=_cdf(rng.lognormal(0, 0.6, n_carriers)),
        office_ip=ids.fresh("ip", n_offices), office_cdf=_cdf(rng.lognormal(0, 1.0, n_offices)),
        centre_ip=ids.fresh("ip", n_centres), centre_cdf=_cdf(ws_count),
        workstation=ids.fresh("device", int(ws_count.sum())),
        ws_start=np.cumsum(ws_count) - ws_count, ws_count=ws_count,
    )


def _day_cdfs(t0: int, days: int) -> np.ndarray:
    """Per product, how likely each day is: growth trend x weekday x month of year."""
    day0 = np.datetime64(t0 // DAY, "D") + np.arange(days)
    weekday = (day0.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    month = day0.astype("datetime64[M]").astype(np.int64) % 12 + 1
    trend = 1.0 + 0.3 * np.arange(days) / max(days, 1)
    rows = []
    for product in (POS, ONLINE, CASH):
        by_month = np.array([_MONTH[product].get(m, 1.0) for m in range(13)])
        rows.append(_cdf(trend * np.asarray(_WEEKDAY[product])[weekday] * by_month[month]))
    return np.stack(rows)


def _sub_index(start: np.ndarray, count: np.ndarray, owner: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Uniform pick of one item of each owner's block (an agent of a merchant, ...)."""
    return start[owner] + (rng.random(len(owner)) * count[owner]).astype(np.int64)


def _clock(world: _World, rng: np.random.Generator, day: np.ndarray,
           hour_cdf: np.ndarray) -> np.ndarray:
    """Epoch seconds for given day offsets, with an hour drawn from a daily profile."""
    hour = np.minimum(_pick(hour_cdf, rng, len(day)), 23)
    t = world.t0 + day.astype(np.int64) * DAY + hour * 3600 + rng.integers(0, 3600, len(day))
    return np.clip(t, world.t0, world.t0 + world.span - 1)


# ----------------------------------------------------------------------------------------------
# The honest bulk (vectorised)
# ----------------------------------------------------------------------------------------------


def _persons(n_rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Person index and visit rank per application; a few persons come back 2-4 times."""
    counts = np.ones(n_rows, dtype=np.int64)
    repeat = rng.random(n_rows) < _REPEAT_SHARE
    counts[repeat] = rng.integers(2, 5, int(repeat.sum()))
    ends = np.cumsum(counts)
    n_persons = int(np.searchsorted(ends, n_rows)) + 1
    counts = counts[:n_persons]
    counts[-1] -= int(ends[n_persons - 1]) - n_rows
    first = np.cumsum(counts) - counts
    person = np.repeat(np.arange(n_persons), counts)
    return person, np.arange(n_rows) - np.repeat(first, counts)


def _households(n_persons: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Head of household per person (self for singles) and the next member (-1 for singles)."""
    head, nxt = np.arange(n_persons), np.full(n_persons, -1)
    members = rng.permutation(n_persons)[: int(n_persons * _FAMILY_SHARE)]
    sizes = rng.choice([2, 3, 4, 5], size=len(members) // 2 + 1, p=[0.45, 0.3, 0.15, 0.1])
    sizes = sizes[np.cumsum(sizes) <= len(members)]
    members = members[: int(sizes.sum())]
    if len(members) == 0:
        return head, nxt
    group_first = np.repeat(np.cumsum(sizes) - sizes, sizes)
    position = np.arange(len(members)) - group_first
    head[members] = members[group_first]
    nxt[members] = members[group_first + (position + 1) % np.repeat(sizes, sizes)]
    return head, nxt


def _space_repeat_visits(t: np.ndarray, person: np.ndarray, rank: np.ndarray, world: _World,
                         rng: np.random.Generator) -> np.ndarray:
    """Repeat customers come back months apart, keeping each visit's time of day."""
    visits = np.bincount(person)
    repeat = visits[person] >= 2
    if not repeat.any():
        return t
    n_persons = len(visits)
    gap = rng.uniform(40, 120, n_persons) * min(1.0, world.days / 365)
    room = np.maximum(world.days - (visits - 1) * gap, 1.0)
    base = rng.uniform(0, 1, n_persons) * room
    day = base[person] + rank * gap[person] + rng.uniform(-7, 7, len(t))
    day = np.clip(day, 0, world.days - 1).astype(np.int64)
    moved = world.t0 + day * DAY + (t - world.t0) % DAY
    return np.where(repeat, moved, t)


def _honest_bulk(n_rows: int, world: _World, ids: _Ids, rng: np.random.Generator) -> Raw:
    person, rank = _persons(n_rows, rng)
    n_persons = int(person[-1]) + 1
    head, nxt = _households(n_persons, rng)
    product = _pick(_cdf(_PRODUCT_MIX), rng, n_rows).astype(np.int8)
    day = np.empty(n_rows, dtype=np.int64)
    t = np.empty(n_rows, dtype=np.int64)
    for p in (POS, ONLINE, CASH):  # each product has its own calendar and clock
        m = product == p
        day[m] = np.minimum(_pick(world.day_cdf[p], rng, int(m.sum())), world.days - 1)
        t[m] = _clock(world, rng, day[m], world.hour_cdf[p])
    t = _space_repeat_visits(t, person, rank, world, rng)

    own = _person_identifiers(n_persons, head, nxt, ids, rng)
    raw: Raw = {"t": t, "product": product, "person": person, "household": head[person],
                "applicant": own["applicant"][person], "phone": own["phone"][person],
                "email": own["email"][person], "address": own["address"][head[person]],
                "bank": own["bank"][person]}
    raw["email"] = np.where(rng.random(n_rows) < 0.05, -1, raw["email"])  # not always filled in
    raw.update(_contacts(own["contacts"][person], rng))
    raw.update(_channels(product, person, rank, head, nxt, own, world, ids, rng))
    raw["bank"] = np.where((product == POS) & (rng.random(n_rows) < 0.55), -1, raw["bank"])
    n = n_rows
    raw.update(fraud=np.zeros(n, np.int8), label_t=t, ring=np.full(n, -1, np.int32),
               stolen=np.zeros(n, bool), boost=np.ones(n))
    raw["amount"], raw["term"] = _loans(product, raw["boost"], rng)
    return raw


def _person_identifiers(n_persons: int, head: np.ndarray, nxt: np.ndarray, ids: _Ids,
                        rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each person's own identifiers; families share an address and sometimes more."""
    own = {kind: ids.fresh(kind, n_persons)
           for kind in ("applicant", "phone", "email", "bank", "device", "address", "ip")}
    own["email"][rng.random(n_persons) < 0.12] = -1
    family = np.flatnonzero(nxt >= 0)
    not_head = family[head[family] != family]
    joint = not_head[rng.random(len(not_head)) < 0.3]  # a joint account with the head
    own["bank"][joint] = own["bank"][head[joint]]
    contacts = ids.fresh("phone", 3 * n_persons).reshape(n_persons, 3)
    lists_kin = family[rng.random(len(family)) < 0.7]
    contacts[lists_kin, 0] = own["phone"][nxt[lists_kin]]
    friends = np.flatnonzero(rng.random(n_persons) < 0.02)  # a friend who also borrowed
    contacts[friends, 1] = own["phone"][rng.integers(0, n_persons, len(friends))]
    own["contacts"] = contacts
    return own


def _contacts(per_person: np.ndarray, rng: np.random.Generator) -> Raw:
    """0-3 of the person's contacts, as listed on this application."""
    listed = _pick(_cdf([0.2, 0.35, 0.3, 0.15]), rng, len(per_person))
    return {f"c{k + 1}": np.where(listed > k, per_person[:, k], -1) for k in range(3)}


def _channels(product: np.ndarray, person: np.ndarray, rank: np.ndarray, head: np.ndarray,
              nxt: np.ndarray, own: dict[str, np.ndarray], world: _World, ids: _Ids,
              rng: np.random.Generator) -> Raw:
    """Device, IP, merchant and agent: where the application was filled in."""
    n = len(product)
    device = own["device"][person].copy()
    new_phone = (rank > 0) & (rng.random(n) < 0.25)  # repeat customers change handsets
    device[new_phone] = ids.fresh("device", int(new_phone.sum()))
    home_dev = (nxt[person] >= 0) & (product == ONLINE) & (rng.random(n) < 0.4)
    device[home_dev] = own["device"][head[person[home_dev]]]
    home_ip = own["ip"][head[person]]
    carrier = world.carrier_ip[np.minimum(_pick(world.carrier_cdf, rng, n),
                                          len(world.carrier_ip) - 1)]
    office = world.office_ip[np.minimum(_pick(world.office_cdf, rng, n), len(world.office_ip) - 1)]
    u = rng.random(n)
    ip = np.where(u < 0.5, carrier, np.where(u < 0.85, home_ip, np.where(u < 0.97, office, -1)))
    merchant_ix = np.minimum(_pick(world.merchant_cdf, rng, n), len(world.merchant) - 1)
    merchant = np.full(n, -1, np.int64)
    agent = np.full(n, -1, np.int64)

    pos = product == POS
    m_ix = merchant_ix[pos]
    merchant[pos] = world.merchant[m_ix]
    agent[pos] = world.agent[_sub_index(world.agent_start, world.agent_count, m_ix, rng)]
    tablet = rng.random(int(pos.sum())) < 0.75  # keyed on the shop's tablet
    tab_dev = world.tablet[_sub_index(world.tablet_start, world.tablet_count, m_ix, rng)]
    mobile = np.where(rng.random(int(pos.sum())) < 0.8, carrier[pos], home_ip[pos])
    device[pos] = np.where(tablet, tab_dev, device[pos])
    ip[pos] = np.where(tablet, world.merchant_ip[m_ix], mobile)

    cash = product == CASH
    centre = np.minimum(_pick(world.centre_cdf, rng, int(cash.sum())), len(world.centre_ip) - 1)
    operator = rng.random(int(cash.sum())) < 0.6  # taken by phone in a call centre
    ws = world.workstation[_sub_index(world.ws_start, world.ws_count, centre, rng)]
    app_ip = np.where(rng.random(int(cash.sum())) < 0.6, carrier[cash], home_ip[cash])
    device[cash] = np.where(operator, ws, device[cash])
    ip[cash] = np.where(operator, world.centre_ip[centre], app_ip)

    device[rng.random(n) < 0.015] = -1  # fingerprinting blocked
    return {"device": device, "ip": ip, "merchant": merchant, "agent": agent}


def _loans(product: np.ndarray, boost: np.ndarray,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Amount and term by product; ``boost`` > 1 pushes fraud towards the limits."""
    n = len(product)
    median = np.array([22_000.0, 12_000.0, 90_000.0])[product]
    sigma = np.array([0.8, 0.6, 0.7])[product]
    low = np.array([2_000.0, 1_000.0, 10_000.0])[product]
    high = np.array([400_000.0, 100_000.0, 1_500_000.0])[product]
    step = np.array([10.0, 500.0, 1_000.0])[product]
    amount = np.clip(median * np.exp(sigma * rng.standard_normal(n)) * boost, low, high)
    amount = np.maximum(np.round(amount / step) * step, low)
    terms = np.array([[3, 6, 10, 12, 18, 24], [1, 2, 3, 6, 12, 12], [12, 24, 36, 48, 60, 60]])
    term = terms[product, rng.integers(0, 6, n)]
    return amount, term.astype(np.int64)


# ----------------------------------------------------------------------------------------------
# Rings and lone fraud (small Python loops)
# ----------------------------------------------------------------------------------------------


class _Planter:
    """Plants rings of each typology, camouflaged according to ``difficulty``."""

    def __init__(self, world: _World, ids: _Ids, rng: np.random.Generator,
                 difficulty: float) -> None:
        self.world, self.ids, self.rng, self.d = world, ids, rng, difficulty
        self.rows: list[dict[str, Any]] = []
        self.typologies: list[str] = []
        # Camouflage knobs: a member skips a ring-shared value, uses an honest hub instead,
        # and the ring's calendar stretches.
        self.p_fresh = min(0.6, 0.12 + 0.18 * difficulty)
        self.p_hub = min(0.75, 0.25 * difficulty)
        self.spread = 0.5 + difficulty

    # -- bookkeeping ---------------------------------------------------------------------------

    def plant_rings(self, target_rows: int, n: int) -> None:
        builders = {"device_farm": self._device_farm, "agent_collusion": self._agent_collusion,
                    "synthetic_identity": self._synthetic, "contact_clique": self._contact_clique,
                    "bust_out": self._bust_out}
        # Every typology appears once the target allows; never let rings swamp the book.
        min_rings = len(TYPOLOGIES) if target_rows >= 20 else 0
        order: list[str] = []
        while (len(self.rows) < target_rows or len(self.typologies) < min_rings) and (
                len(self.rows) < n // 2):
            if not order:
                order = [TYPOLOGIES[i] for i in self.rng.permutation(len(TYPOLOGIES))]
            typology = order.pop()
            mark = dict(self.ids.next)
            ring = len(self.typologies)
            members = builders[typology](ring)
            self._no_clique(members, mark, _BRIDGES[typology])
            self.rows.extend(members)
            self.typologies.append(typology)

    def plant_lone_fraud(self, count: int) -> None:
        """Fraud with nothing to share: fresh identifiers, ordinary channels."""
        for _ in range(count):
            product = int(_pick(_cdf([0.35, 0.45, 0.2]), self.rng))
            day = int(self.rng.integers(0, self.world.days))
            row = self._member(self._at(day, self.world.hour_cdf[product]), product, -1)
            if self.rng.random() < 0.4:
                row["ip"] = self._carrier()
            self.rows.append(row)

    def frame(self) -> Raw:
        raw = {c: np.array([r[c] for r in self.rows], dtype=dt)
               for c, dt in _RAW_DTYPES.items() if c not in ("amount", "term")}
        raw["amount"], raw["term"] = _loans(raw["product"], raw["boost"], self.rng)
        return raw

    # -- building blocks -----------------------------------------------------------------------

    def _at(self, day: float, hour_cdf: np.ndarray) -> int:
        """Scalar twin of _clock: called once per ring member, so kept off numpy arrays."""
        hour = min(int(np.searchsorted(hour_cdf, self.rng.random(), side="right")), 23)
        t = self.world.t0 + int(day) * DAY + hour * 3600 + int(self.rng.random() * 3600)
        return min(max(t, self.world.t0), self.world.t0 + self.world.span - 1)

    def _carrier(self) -> int:
        return int(self.world.carrier_ip[min(int(_pick(self.world.carrier_cdf, self.rng)),
                                             len(self.world.carrier_ip) - 1)])

    def _merchant(self) -> tuple[int, int]:
        """A merchant index and one of its (otherwise honest) agents."""
        w = self.world
        m = min(int(_pick(w.merchant_cdf, self.rng)), len(w.merchant) - 1)
        agent = w.agent[w.agent_start[m] + int(self.rng.integers(0, w.agent_count[m]))]
        return m, int(agent)

    def _member(self, t: int, product: int, ring: int, fraud: int = FRAUD) -> dict[str, Any]:
        """An application with fresh identifiers everywhere: the camouflage baseline."""
        rng, ids = self.rng, self.ids
        row: dict[str, Any] = dict.fromkeys(_ID_COLS, -1)
        for col in ("applicant", "phone", "device", "ip", "address", "bank"):
            row[col] = ids.one(_KIND[col])
        if rng.random() < 0.8:
            row["email"] = ids.one("email")
        for k in range(int(rng.integers(0, 3))):
            row[f"c{k + 1}"] = ids.one("phone")
        if product == POS:
            m, row["agent"] = self._merchant()
            row["merchant"] = int(self.world.merchant[m])
        row.update(t=t, product=product, fraud=fraud, label_t=t, ring=ring, person=-1,
                   household=-1, stolen=False,
                   boost=1.0 if fraud == SLEEPER else float(rng.uniform(1.3, 2.5)))
        return row

    def _share(self, rows: list[dict[str, Any]], col: str, k: int,
               p_fresh: float | None = None) -> np.ndarray:
        """Give the rows ``k`` ring-owned values in blocks; some members keep their own."""
        p_fresh = self.p_fresh if p_fresh is None else p_fresh
        pool = self.ids.fresh(_KIND[col], max(1, k))
        for j, i in enumerate(self.rng.permutation(len(rows))):
            if self.rng.random() >= p_fresh:
                rows[i][col] = int(pool[j * len(pool) // len(rows)])
        return pool

    def _hub_ips(self, rows: list[dict[str, Any]]) -> None:
        """Some members hide behind carrier NAT, like half of the honest book."""
        for row in rows:
            if self.rng.random() < self.p_hub:
                row["ip"] = self._carrier()

    def _window(self, length_days: float, earliest: float = 0.0) -> float:
        """First day of a window of the given length that fits in the book."""
        latest = max(earliest, self.world.days - length_days - 1)
        return float(self.rng.uniform(earliest, latest)) if latest > earliest else earliest

    def _spread_times(self, size: int, length_days: float, hour_cdf: np.ndarray,
                      earliest: float = 0.0) -> list[int]:
        first = self._window(length_days, earliest)
        days = np.sort(first + self.rng.uniform(0, length_days, size))
        return sorted(self._at(d, hour_cdf) for d in days)

    def _burst_times(self, size: int) -> list[int]:
        """Device-farm bursts: minutes apart, or (camouflaged) spread over days."""
        n_bursts = 1 + int(self.rng.integers(0, 1 + round(self.d)))
        length = 10.0 * self.spread
        first = self._window(length)
        starts = [self._at(first + self.rng.uniform(0, length), _cdf(_FARM_HOURS))
                  for _ in range(n_bursts)]
        slow = self.rng.random() < min(0.9, 0.3 * self.d)
        scale = self.rng.uniform(1, 4) * DAY / size if slow else 1800.0 * self.spread / size
        times = [starts[int(self.rng.integers(0, n_bursts))] + int(self.rng.exponential(scale) *
                                                                 (i + 1)) for i in range(size)]
        return sorted(min(t, self.world.t0 + self.world.span - 1) for t in times)

    # -- typologies ----------------------------------------------------------------------------

    def _device_farm(self, ring: int) -> list[dict[str, Any]]:
        """Many identities, few devices, bursts; mule accounts; mostly online."""
        rng = self.rng
        size = int(rng.integers(8, 31))
        rows = [self._member(t, ONLINE if rng.random() < 0.8 else CASH, ring)
                for t in self._burst_times(size)]
        self._share(rows, "device", round(size / rng.uniform(4, 9)), self.p_fresh * 0.5)
        self._share(rows, "ip", int(rng.integers(1, 3)))
        self._share(rows, "bank", max(1, size // 8), self.p_fresh + 0.1)
        self._share(rows, "phone", max(1, size // 6), min(0.9, self.p_fresh + 0.4))
        self._hub_ips(rows)
        return rows

    def _agent_collusion(self, ring: int) -> list[dict[str, Any]]:
        """A sales agent keys fake applications at their shop over a few weeks."""
        rng, w = self.rng, self.world
        size = int(rng.integers(5, 26))
        m, agent = self._merchant()
        late_shift = _cdf([0] * 10 + [1] * 7 + [2, 3, 3, 2] + [0] * 3)
        times = self._spread_times(size, rng.uniform(14, 42) * self.spread / 1.5, late_shift)
        rows = [self._member(t, POS, ring) for t in times]
        agent_phone = self.ids.one("phone")  # fake applicants name the agent as a reference
        for row in rows:
            row.update(merchant=int(w.merchant[m]), agent=agent)
            if rng.random() < 0.5:
                row["email"] = -1
            if rng.random() < 0.6:
                row["bank"] = -1
            if rng.random() < 0.4:
                row["c1"] = agent_phone
        self._share(rows, "device", int(rng.integers(1, 3)), self.p_fresh * 0.5)
        self._share(rows, "phone", max(1, size // 4))
        self._share(rows, "address", max(1, size // 5))
        self._share(rows, "ip", 1)  # the agent's own phone hotspot
        for row in rows:  # some are keyed on the shop tablet, like every honest sale
            if rng.random() < self.p_hub:
                tab = w.tablet_start[m] + int(rng.integers(0, w.tablet_count[m]))
                row.update(device=int(w.tablet[tab]), ip=int(w.merchant_ip[m]))
        return rows

    def _synthetic(self, ring: int) -> list[dict[str, Any]]:
        """Recycled or synthetic identities sharing phones, addresses and mule accounts."""
        rng = self.rng
        size = int(rng.integers(4, 21))
        times = self._spread_times(size, rng.uniform(7, 28) * self.spread, _cdf(_HOURS[ONLINE]))
        rows = [self._member(t, int(_pick(_cdf([0.2, 0.5, 0.3]), rng)), ring) for t in times]
        for i, row in enumerate(rows):
            if i > 0 and rng.random() < 0.2:  # the same identity, reused with other details
                row["applicant"] = rows[int(rng.integers(0, i))]["applicant"]
            elif rng.random() < 0.1 * self.d:  # a real customer's identity, stolen
                row["stolen"] = True
        self._share(rows, "phone", max(1, size // 4))
        self._share(rows, "address", max(1, size // 5))
        self._share(rows, "bank", max(1, size // 6))
        self._hub_ips(rows)
        return rows

    def _contact_clique(self, ring: int) -> list[dict[str, Any]]:
        """Applicants name each other as emergency contacts, in cycles and reciprocally."""
        rng = self.rng
        size = int(rng.integers(4, 13))
        times = self._spread_times(size, rng.uniform(2, 10) * self.spread, _cdf(_HOURS[ONLINE]))
        rows = [self._member(t, ONLINE if rng.random() < 0.7 else CASH, ring) for t in times]
        phones = [row["phone"] for row in rows]
        for i, row in enumerate(rows):
            picks = [phones[(i + 1) % size],
                     phones[(i + 2) % size] if rng.random() < 0.6 else self.ids.one("phone"),
                     phones[(i - 1) % size] if rng.random() < 0.5 else -1]
            for k, phone in enumerate(picks):
                fresh = phone >= 0 and rng.random() < self.p_fresh * 0.5
                row[f"c{k + 1}"] = self.ids.one("phone") if fresh else phone
        if rng.random() < 0.5:  # two or three of them give the same flat
            flat = self.ids.one("address")
            for i in rng.choice(size, int(rng.integers(2, 4)), replace=False):
                rows[int(i)]["address"] = flat
        self._hub_ips(rows)
        return rows

    def _bust_out(self, ring: int) -> list[dict[str, Any]]:
        """Sleepers borrow once, honestly, long ago; then all borrow together and vanish."""
        rng, days = self.rng, self.world.days
        size = int(rng.integers(4, 13))
        bust_len = rng.uniform(1, 5) * self.spread
        bust_day = self._window(bust_len, earliest=min(0.45 * days, 120))
        sleep_days = rng.uniform(0, max(1.0, bust_day - 60), size)
        sleepers = [self._member(self._at(d, self.world.hour_cdf[ONLINE]),
                                 int(_pick(_cdf([0.5, 0.35, 0.15]), rng)), ring, SLEEPER)
                    for d in sleep_days]
        busts = []
        for sleeper in sleepers:
            t = self._at(bust_day + rng.uniform(0, bust_len), self.world.hour_cdf[ONLINE])
            row = self._member(t, ONLINE if rng.random() < 0.6 else CASH, ring)
            row.update(applicant=sleeper["applicant"], phone=sleeper["phone"])
            if rng.random() < 0.7:
                row["email"] = sleeper["email"]
            sleeper["label_t"] = t  # the early loan is only seen as fraud once the bust is
            busts.append(row)
        self._share(busts, "bank", int(rng.integers(1, 3)), self.p_fresh * 0.5)
        self._share(busts, "address", int(rng.integers(1, 4)))
        self._share(busts, "device", max(1, size // 4), self.p_fresh + 0.15)
        self._hub_ips(sleepers + busts)
        return sorted(sleepers + busts, key=lambda r: r["t"])

    # -- connectivity --------------------------------------------------------------------------

    def _no_clique(self, rows: list[dict[str, Any]], mark: dict[str, int],
                   bridges: tuple[tuple[str, str], ...]) -> None:
        """Connected, but no single own identifier on every member: that would be too easy."""
        avoid: set[tuple[str, int]] = set()
        for _ in range(4):
            self._connect(rows, mark, bridges, avoid)
            covering = _covering(rows, mark)
            if not covering:
                return
            for col, value in covering:
                row = rows[int(self.rng.integers(0, len(rows)))]
                row[col] = self.ids.one(_KIND[col])
                avoid.add((_KIND[col], value))

    def _connect(self, rows: list[dict[str, Any]], mark: dict[str, int],
                 bridges: tuple[tuple[str, str], ...], avoid: set[tuple[str, int]]) -> None:
        """A ring must be one piece through its own identifiers (not through honest hubs)."""
        for _ in range(10 * len(rows)):
            comp = _components(rows, mark)
            main = max(set(comp), key=comp.count)
            loose = [i for i, c in enumerate(comp) if c != main]
            if not loose:
                return
            anchor = rows[int(self.rng.choice([i for i, c in enumerate(comp) if c == main]))]
            row = rows[loose[int(self.rng.integers(0, len(loose)))]]
            for dst, src in bridges:
                kind = _KIND[src]
                if anchor[src] >= mark[kind] and (kind, anchor[src]) not in avoid:
                    row[dst] = anchor[src]
                    break
            else:  # nothing of the anchor's own to lend: mint a value for the two of them
                dst, src = bridges[0]
                anchor[src] = row[dst] = self.ids.one(_KIND[src])


_BRIDGES: dict[str, tuple[tuple[str, str], ...]] = {
    "device_farm": (("device", "device"), ("bank", "bank")),
    "agent_collusion": (("device", "device"), ("phone", "phone"), ("address", "address")),
    "synthetic_identity": (("phone", "phone"), ("address", "address"), ("bank", "bank")),
    "contact_clique": (("c1", "phone"),),
    "bust_out": (("bank", "bank"), ("address", "address")),
}


def _components(rows: list[dict[str, Any]], mark: dict[str, int]) -> list[int]:
    """Union-find over ring-owned values (allocated since ``mark``); hubs do not count."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[tuple[str, int], int] = {}
    for i, row in enumerate(rows):
        for col in _ID_COLS:
            kind, value = _KIND[col], row[col]
            if value < mark[kind] or (col == "applicant" and row["stolen"]):
                continue
            j = seen.setdefault((kind, value), i)
            parent[find(i)] = find(j)
    return [find(i) for i in range(len(rows))]


def _covering(rows: list[dict[str, Any]], mark: dict[str, int]) -> list[tuple[str, int]]:
    """Ring-owned values of the members' own identifiers (not contacts) held by every member."""
    found = []
    for col in ("phone", "device", "email", "ip", "address", "bank", "applicant"):
        values = {row[col] for row in rows}
        value = next(iter(values))
        if len(values) == 1 and value >= mark[_KIND[col]]:
            found.append((col, value))
    return found


def _steal_identities(special: Raw, honest_applicants: np.ndarray,
                      rng: np.random.Generator) -> None:
    """Stolen identities borrow a real customer's applicant id (patched once the bulk exists)."""
    stolen = np.flatnonzero(special["stolen"])
    special["applicant"][stolen] = honest_applicants[rng.integers(0, len(honest_applicants),
                                                                  len(stolen))]


def _concat(parts: list[Raw]) -> Raw:
    return {c: np.concatenate([p[c] for p in parts]).astype(dt) for c, dt in _RAW_DTYPES.items()}


# ----------------------------------------------------------------------------------------------
# Formatting: integers to realistic strings, once, vectorised
# ----------------------------------------------------------------------------------------------

_M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9)


def _keys(seed: int, name: str) -> tuple[np.uint64, ...]:
    """Per-seed, per-column round keys: zlib.crc32 because Python's hash() is salted."""
    state = np.random.SeedSequence([seed, zlib.crc32(name.encode())]).generate_state(4, np.uint64)
    return tuple(np.uint64(k) for k in state)


def _feistel(x: np.ndarray, half: int, keys: tuple[np.uint64, ...]) -> np.ndarray:
    mask = np.uint64((1 << half) - 1)
    shift, top = np.uint64(half), np.uint64(64 - half)
    left, right = (x >> shift) & mask, x & mask
    for k in keys:
        f = (right ^ k) * _M1
        f = ((f ^ (f >> np.uint64(29))) * _M2) >> top
        left, right = right, left ^ (f & mask)
    return (left << shift) | right


def _permute(values: np.ndarray, limit: int, keys: tuple[np.uint64, ...]) -> np.ndarray:
    """A keyed bijection of [0, limit): distinct ids stay distinct but look random."""
    half = (max(2, (limit - 1).bit_length()) + 1) // 2
    y = _feistel(values.astype(np.uint64), half, keys)
    if limit < 1 << (2 * half):  # cycle-walk back into the range
        bad = np.flatnonzero(y >= np.uint64(limit))
        while len(bad):
            y[bad] = _feistel(y[bad], half, keys)
            bad = bad[y[bad] >= np.uint64(limit)]
    return y


def _to_str(mat: np.ndarray) -> np.ndarray:
    """Rows of ASCII bytes to an object array of str (via UCS-4, which numpy views for free)."""
    width = mat.shape[1]
    return np.ascontiguousarray(mat, dtype=np.uint32).view(f"U{width}").ravel().astype(object)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    powers = np.uint64(10) ** np.arange(width - 1, -1, -1, dtype=np.uint64)
    return ((values.astype(np.uint64)[:, None] // powers) % np.uint64(10) + np.uint64(48)).astype(
        np.uint8)


def _hexits(values: np.ndarray, width: int) -> np.ndarray:
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nibbles = (values.astype(np.uint64)[:, None] >> shifts) & np.uint64(15)
    return np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles.astype(np.intp)]


def _prefixed(prefix: str, body: np.ndarray) -> np.ndarray:
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    return _to_str(np.hstack([np.broadcast_to(head, (len(body), len(head))), body]))


def _present(values: np.ndarray, fmt: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Format only present values (>= 0); absent ones become ''."""
    out = np.full(len(values), "", dtype=object)
    m = values >= 0
    if m.any():
        out[m] = fmt(values[m])
    return out


def _hex_col(values: np.ndarray, prefix: str, width: int, seed: int, name: str) -> np.ndarray:
    keys = _keys(seed, name)
    return _present(values, lambda v: _prefixed(prefix, _hexits(_permute(v, 1 << 4 * width, keys),
                                                                width)))


def _dec_col(values: np.ndarray, prefix: str, width: int, seed: int, name: str) -> np.ndarray:
    keys = _keys(seed, name)
    return _present(values, lambda v: _prefixed(prefix, _digits(_permute(v, 10**width, keys),
                                                                width)))


def _phone_col(values: np.ndarray, seed: int, rng: np.random.Generator) -> np.ndarray:
    """One number, many spellings: each occurrence picks its own format."""
    keys = _keys(seed, "phone")

    def fmt(v: np.ndarray) -> np.ndarray:
        national = _digits(np.uint64(9 * 10**9) + _permute(v, 10**9, keys), 10)
        choice = _pick(_cdf([w for _, w in _PHONE_TEMPLATES]), rng, len(v))
        out = np.empty(len(v), dtype=object)
        for i, (template, _) in enumerate(_PHONE_TEMPLATES):
            m = choice == i
            mat = np.empty((int(m.sum()), len(template)), dtype=np.uint8)
            slots = [j for j, ch in enumerate(template) if ch == "d"]
            for j, ch in enumerate(template):
                if ch != "d":
                    mat[:, j] = ord(ch)
            mat[:, slots] = national[m]
            out[m] = _to_str(mat)
        return out

    return _present(values, fmt)


def _join_contacts(parts: list[np.ndarray]) -> np.ndarray:
    out = parts[0].copy()
    for part in parts[1:]:
        has = part != ""
        both, only = has & (out != ""), has & (out == "")
        out[both] = out[both] + ";" + part[both]
        out[only] = part[only]
    return out


def _email_col(values: np.ndarray, seed: int, rng: np.random.Generator) -> np.ndarray:
    """first.lastNNN@domain, unique per address; case and spaces vary per occurrence."""
    tag_keys, name_keys = _keys(seed, "email"), _keys(seed, "email-name")

    def fmt(v: np.ndarray) -> np.ndarray:
        limit = 10 ** max(6, len(str(int(v.max()))) + 1)
        tag = _permute(v, limit, tag_keys).astype(str).astype(object)
        h = _permute(v, 1 << 32, name_keys).astype(np.int64)
        first = np.array(_FIRST, dtype=object)[h % len(_FIRST)]
        last = np.array(_LAST, dtype=object)[(h >> 6) % len(_LAST)]
        last = np.where(h % len(_FIRST) >= _N_MALE, last + "a", last)  # ivanov / ivanova
        sep = np.array(_SEPS, dtype=object)[(h >> 12) % len(_SEPS)]
        dom_cdf = _cdf([w for _, w in _DOMAINS])
        dom_ix = np.searchsorted(dom_cdf, ((h >> 16) % 1000) / 1000.0, side="right")
        domain = np.array([d for d, _ in _DOMAINS], dtype=object)[dom_ix]
        return _vary_case(first + sep + last + tag + "@" + domain, rng)

    return _present(values, fmt)


def _vary_case(emails: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u, pad = rng.random(len(emails)), rng.random(len(emails))
    for mask, change in ((u < 0.07, str.capitalize), ((u >= 0.07) & (u < 0.09), str.upper),
                         (pad < 0.02, lambda s: " " + s), ((pad >= 0.02) & (pad < 0.04),
                                                           lambda s: s + "  ")):
        emails[mask] = [change(s) for s in emails[mask]]
    return emails


_OCTET_TEXT = np.array([str(i) for i in range(256)], dtype=object)


def _ip_col(values: np.ndarray, seed: int) -> np.ndarray:
    """IPv4 in Russian ISPs' public ranges; unique per integer id."""
    keys = _keys(seed, "ip")
    octets = np.array(_IP_FIRST_OCTETS, dtype=np.uint64)

    def fmt(v: np.ndarray) -> np.ndarray:
        x = _permute(v, len(octets) << 24, keys)
        parts = [octets[x >> np.uint64(24)]] + [(x >> np.uint64(s)) & np.uint64(255)
                                                for s in (16, 8, 0)]
        text = [_OCTET_TEXT[p.astype(np.intp)] for p in parts]
        return text[0] + "." + text[1] + "." + text[2] + "." + text[3]

    return _present(values, fmt)


def _bank_col(values: np.ndarray, seed: int) -> np.ndarray:
    """20-digit ruble current account numbers: 40817 810 + 12 digits."""
    keys = _keys(seed, "bank")
    return _present(values, lambda v: _prefixed("40817810", _digits(_permute(v, 10**12, keys),
                                                                     12)))


def _format(raw: Raw, seed: int, rng: np.random.Generator) -> pd.DataFrame:
    """Turn the raw integer table (already in time order) into the input contract."""
    n = len(raw["t"])
    width = max(7, len(str(n)))
    cols: dict[str, Any] = {
        "application_id": _prefixed("A", _digits(np.arange(1, n + 1), width)),
        "applied_at": np.datetime_as_string(raw["t"].astype("datetime64[s]"), unit="s").astype(
            object),
        "applicant_id": _hex_col(raw["applicant"], "P", 12, seed, "applicant"),
        "phone": _phone_col(raw["phone"], seed, rng),
        "contact_phones": _join_contacts([_phone_col(raw[c], seed, rng) for c in ("c1", "c2",
                                                                                 "c3")]),
        "device_id": _hex_col(raw["device"], "dev_", 16, seed, "device"),
        "merchant_id": _dec_col(raw["merchant"], "M", 6, seed, "merchant"),
        "agent_id": _dec_col(raw["agent"], "AG", 6, seed, "agent"),
        "email": _email_col(raw["email"], seed, rng),
        "ip": _ip_col(raw["ip"], seed),
        "address": _hex_col(raw["address"], "addr_", 16, seed, "address"),
        "bank_account": _bank_col(raw["bank"], seed),
        "amount": np.round(raw["amount"], 2),
        "term_months": raw["term"].astype(np.int64),
        "product": np.array(PRODUCTS, dtype=object)[raw["product"]],
        "is_fraud": np.full(n, "", dtype=object),
        "fpd": np.full(n, "", dtype=object),
    }
    return pd.DataFrame({f: cols[f] for f in CONTRACT_FIELDS})


# ----------------------------------------------------------------------------------------------
# Outcomes and ground truth
# ----------------------------------------------------------------------------------------------


def _outcomes(raw: Raw, cutoff: int, coverage: float, fpd_noise: float,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Labels as they come back: only for old enough loans, fraud under-confirmed, fpd noisy."""
    n, fraud = len(raw["t"]), raw["fraud"]
    labelled = raw["t"] <= cutoff
    confirmed = (fraud != HONEST) & (raw["label_t"] <= cutoff) & (rng.random(n) < coverage)
    u = rng.random(n)
    missed = np.where(fraud == FRAUD, u < _FRAUD_FPD, (fraud == HONEST) & (u < fpd_noise))
    is_fraud, fpd = np.full(n, "", dtype=object), np.full(n, "", dtype=object)
    is_fraud[labelled] = np.where(confirmed[labelled], "1", "0")
    fpd[labelled] = np.where(missed[labelled], "1", "0")
    return is_fraud, fpd


@dataclass
class _Grouping:
    """Rows grouped by a key: ``rows[start[i]:end[i]]`` is group i, ascending within it."""

    rows: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @property
    def size(self) -> np.ndarray:
        return self.end - self.start

    def keep(self, which: np.ndarray) -> _Grouping:
        """Only the chosen groups, reordered by their first row (i.e. by time)."""
        start, end = self.start[which], self.end[which]
        order = np.argsort(self.rows[start], kind="stable")
        start, end = start[order], end[order]
        rows = self.rows[np.repeat(start, end - start) + _ranks(end - start)]
        bounds = np.cumsum(end - start)
        return _Grouping(rows, bounds - (end - start), bounds)

    def labels(self, n: int, names: np.ndarray) -> np.ndarray:
        """One name per group spread over its rows; '' elsewhere."""
        out = np.full(n, "", dtype=object)
        out[self.rows] = np.repeat(names, self.size)
        return out


def _ranks(sizes: np.ndarray) -> np.ndarray:
    """0..size-1 within each consecutive block."""
    return np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)


def _group(key: np.ndarray, mask: np.ndarray) -> _Grouping:
    rows = np.flatnonzero(mask & (key >= 0))
    rows = rows[np.argsort(key[rows], kind="stable")]
    _, start = np.unique(key[rows], return_index=True)
    start = start.astype(np.int64)
    end = np.append(start[1:], len(rows)).astype(np.int64) if len(start) else start.copy()
    return _Grouping(rows, start, end)


def _decoy_groups(raw: Raw, world: _World) -> list[tuple[str, str, _Grouping]]:
    """(kind, raw column that ties them, groups) for every kind of legitimate sharing."""
    honest = raw["fraud"] == HONEST
    found = []
    for kind, col, hubs in (("shop_tablet", "device", world.tablet),
                            ("carrier_ip", "ip", world.carrier_ip),
                            ("office_ip", "ip", world.office_ip)):
        g = _group(raw[col], honest & np.isin(raw[col], hubs))
        small = kind == "shop_tablet"  # a tablet with a handful of sales is not a hub
        found.append((kind, col, g.keep(g.size >= (_MIN_DECOY_HUB if small else 1))))
    # A family: a household whose honest applications come from two or more persons.
    bulk = honest & (raw["person"] >= 0)
    stride = int(raw["person"].max()) + 1
    pairs = np.unique(raw["household"][bulk] * stride + raw["person"][bulk])
    households, persons = np.unique(pairs // stride, return_counts=True)
    g = _group(raw["household"], honest & np.isin(raw["household"], households[persons >= 2]))
    found.append(("family", "address", g.keep(np.ones(len(g.start), bool))))
    g = _group(raw["person"], honest)
    found.append(("repeat_customer", "applicant", g.keep(g.size >= 2)))
    g = _group(raw["ip"], honest & np.isin(raw["ip"], world.centre_ip))
    found.append(("call_centre", "ip", g.keep(np.ones(len(g.start), bool))))
    return sorted(found, key=lambda f: DECOY_KINDS.index(f[0]))


_COLUMN = {"device": "device_id", "ip": "ip", "address": "address", "applicant": "applicant_id"}


def _numbered(prefix: str, count: int, first: int = 1) -> np.ndarray:
    width = max(4, len(str(count)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(first, first + count)], dtype=object)


def _ring_truth(raw: Raw, apps: pd.DataFrame,
                typologies: list[str]) -> tuple[list[dict[str, Any]], np.ndarray]:
    g = _group(raw["ring"].astype(np.int64), np.ones(len(raw["t"]), bool))
    names = _numbered("R", len(typologies))
    ring_of_group = raw["ring"][g.rows[g.start]]
    members = apps["application_id"].to_numpy(dtype=object)[g.rows].tolist()
    applicants = apps["applicant_id"].to_numpy(dtype=object)[g.rows].tolist()
    rings = []
    for ring, a, b in zip(ring_of_group.tolist(), g.start.tolist(), g.end.tolist(), strict=True):
        rings.append({"ring_id": str(names[ring]), "typology": typologies[ring], "size": b - a,
                      "members": members[a:b], "applicants": sorted(set(applicants[a:b])),
                      "first_seen": _iso(raw["t"][g.rows[a]]),
                      "last_seen": _iso(raw["t"][g.rows[b - 1]])})
    return rings, g.labels(len(raw["t"]), names[ring_of_group])


def _decoy_truth(raw: Raw, apps: pd.DataFrame,
                 world: _World) -> tuple[list[dict[str, Any]], np.ndarray]:
    app_ids = apps["application_id"].to_numpy(dtype=object)
    found = _decoy_groups(raw, world)
    names = _numbered("D", sum(len(g.start) for _, _, g in found))
    decoys, by_kind, first = [], {}, 0
    for kind, col, g in found:
        field = _COLUMN[col]
        mine = names[first: first + len(g.start)]
        members = app_ids[g.rows].tolist()
        values = apps[field].to_numpy(dtype=object)[g.rows[g.start]].tolist()
        for name, value, a, b in zip(mine.tolist(), values, g.start.tolist(), g.end.tolist(),
                                     strict=True):
            decoys.append({"decoy_id": name, "kind": kind, "size": b - a,
                           "identifier": {"field": field, "value": value},
                           "members": members[a:b]})
        by_kind[kind] = g.labels(len(app_ids), mine)
        first += len(g.start)
    label = np.full(len(app_ids), "", dtype=object)
    for kind in reversed(_DECOY_PRIORITY):  # the most specific decoy wins
        label = np.where(by_kind[kind] != "", by_kind[kind], label)
    return decoys, label


def _ground_truth(raw: Raw, apps: pd.DataFrame, world: _World, typologies: list[str], seed: int,
                  params: dict[str, Any]) -> tuple[dict[str, Any], pd.DataFrame]:
    rings, ring_label = _ring_truth(raw, apps, typologies)
    decoys, decoy_label = _decoy_truth(raw, apps, world)
    truth = {"seed": seed, "n_applications": len(apps), "params": params, "rings": rings,
             "decoys": decoys}
    labels = pd.DataFrame({"application_id": apps["application_id"],
                           "true_fraud": (raw["fraud"] != HONEST).astype(np.int64),
                           "ring": ring_label, "decoy": decoy_label})
    return truth, labels


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------


def _write_table(df: pd.DataFrame, path: Path, fmt: str) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    if fmt == "parquet":
        # No pandas metadata: a plain Arrow schema reads the same from any tool and version.
        pq.write_table(table, path, compression="zstd")
    elif fmt == "csv":
        pacsv.write_csv(table, path)  # ~20x faster than DataFrame.to_csv; strings are quoted
    else:
        _write_jsonl(df, table, path)


_JSON_UNSAFE = r'["\\\x00-\x1f]'


def _write_jsonl(df: pd.DataFrame, table: pa.Table, path: Path) -> None:
    """JSON Lines assembled column-wise by Arrow; pandas' writer is the fallback for odd text."""
    pieces: list[Any] = []
    for i, name in enumerate(table.column_names):
        column = table.column(name).combine_chunks()
        quoted = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if column.null_count or (quoted and pc.any(pc.match_substring_regex(
                column, _JSON_UNSAFE)).as_py()):
            df.to_json(path, orient="records", lines=True, force_ascii=False,
                       double_precision=15)
            return
        pieces.append(("{" if i == 0 else ",") + json.dumps(name) + (':"' if quoted else ":"))
        pieces.append(column if quoted else pc.cast(column, pa.string()))
        if quoted:
            pieces.append('"')
    pieces.append("}\n")
    wide = pa.large_string()  # 64-bit offsets: a big book is more than 2 GiB of text
    lines = pc.binary_join_element_wise(
        *[p.cast(wide) if isinstance(p, pa.Array) else pa.scalar(p, wide) for p in pieces],
        pa.scalar("", wide))
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:]
    data = lines.buffers()[2]
    with open(path, "wb") as out:
        if len(lines):
            out.write(memoryview(data)[int(offsets[0]): int(offsets[len(lines)])])


def _truth_json(truth: dict[str, Any]) -> str:
    """One ring / decoy per line: greppable, diffable, still one JSON document."""
    head = {k: v for k, v in truth.items() if k not in ("rings", "decoys")}
    parts = [json.dumps(head)[:-1]]
    for key in ("rings", "decoys"):
        items = ",\n    ".join(json.dumps(item, separators=(",", ":")) for item in truth[key])
        parts.append(f', "{key}": [\n    {items}\n  ]' if items else f', "{key}": []')
    return "".join(parts) + "}\n"
