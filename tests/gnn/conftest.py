"""Small graphs for the GNN tests: a hand-made book with a ring, a hub and a burst, and a
small generated portfolio; both through the real contract and, where a store is needed, a
real LadybugDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch

from fraudrings.gnn.features import FeatureConfig
from fraudrings.graph.export import GraphExport, export_rows
from fraudrings.graph.load import load_batch
from fraudrings.graph.store import GraphStore, open_store
from fraudrings.loaders.contract import Batch, validate
from fraudrings.loaders.generator import Portfolio

torch.set_num_threads(1)  # two shared cores: one thread each is faster than contention

#: Small enough that the hand-made book has hubs and capped identifiers.
TINY = FeatureConfig(hub_degree=8, fanout=3, label_lag=0, products=("cash", "online", "pos"))
T0 = pd.Timestamp("2025-03-01T09:00:00")


def hand_made() -> pd.DataFrame:
    """60 applications over 60 days: honest singles, a shop tablet used by 20 (a hub at
    ``TINY``), a four-member ring sharing a device and a bank account within two hours, a
    family sharing an address, and outcomes for the older two thirds."""
    rows = []
    for i in range(60):
        when = T0 + pd.Timedelta(days=i, hours=i % 7)
        rows.append({
            "application_id": f"A{i:03d}", "applied_at": when.isoformat(),
            "applicant_id": f"P{i:03d}", "phone": f"+7 900 000 {i:04d}",
            "device_id": "TABLET" if i % 3 == 0 else f"D{i}",
            "merchant_id": "M1" if i % 3 == 0 else "", "agent_id": "G1" if i % 3 == 0 else "",
            "email": f"p{i}@mail.test", "ip": f"10.0.0.{i % 5}", "address": f"ADDR{i}",
            "bank_account": f"ACC{i}", "contact_phones": f"+7 900 100 {i:04d}",
            "amount": str(1000 + 50 * i), "term_months": "12",
            "product": "pos" if i % 3 == 0 else "online",
            "is_fraud": "0" if i < 40 else "", "fpd": "0" if i < 40 else "",
        })
    frame = pd.DataFrame(rows)
    ring = [10, 25, 31, 44]  # one organiser: same device and bank account, a burst on day 31
    for k, i in enumerate(ring):
        frame.loc[i, ["device_id", "bank_account"]] = ["FARM-1", "MULE-1"]
        frame.loc[i, "amount"] = "9000"
        if k >= 2:
            frame.loc[i, "applied_at"] = (T0 + pd.Timedelta(days=31, minutes=30 * k)).isoformat()
    frame.loc[[10, 25], ["is_fraud", "fpd"]] = "1"
    frame.loc[frame.index[[50, 51, 52]], "address"] = "FAMILY-FLAT"
    frame.loc[5, "contact_phones"] = "+7 900 000 0006;+7 900 100 0005"  # lists app 6's phone
    return frame


@pytest.fixture(scope="session")
def tiny_config() -> FeatureConfig:
    return TINY


@pytest.fixture
def tiny_batch() -> Batch:
    return validate(hand_made())


@pytest.fixture(scope="session")
def tiny_export() -> GraphExport:
    return export_rows(validate(hand_made()).rows)


@pytest.fixture
def tiny_store(tmp_path: Path) -> Iterator[GraphStore]:
    store = open_store("ladybug", path=tmp_path / "tiny.lbug")
    load_batch(store, validate(hand_made()))
    yield store
    store.close()


@pytest.fixture(scope="session")
def portfolio() -> Portfolio:
    from fraudrings.loaders.generator import generate_portfolio

    return generate_portfolio(2500, seed=8)  # outcomes in all three splits


@pytest.fixture(scope="session")
def portfolio_export(portfolio: Portfolio) -> GraphExport:
    return export_rows(validate(portfolio.applications).rows)


@pytest.fixture(scope="session")
def portfolio_store(portfolio: Portfolio,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    store = open_store("ladybug", path=tmp_path_factory.mktemp("gnn") / "book.lbug")
    load_batch(store, validate(portfolio.applications))
    yield store
    store.close()
