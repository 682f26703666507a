"""fraudrings.gnn.features / data / relations: shapes, relation names, the hub rule, bursts and
no label leakage across the temporal split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudrings.gnn.data import HEAD, Normaliser, to_hetero_data
from fraudrings.gnn.features import (
    HEAD_FEATURES,
    ID_FEATURES,
    FeatureConfig,
    GraphFeatures,
    build_features,
    head_columns,
    id_columns,
)
from fraudrings.gnn.relations import APP, EDGE_TYPES, ID_LABELS, NODE_TYPES
from fraudrings.gnn.train import temporal_split
from fraudrings.graph import schema
from fraudrings.graph.export import GraphExport, export_graph
from fraudrings.graph.store import GraphStore


def column(name: str) -> int:
    return head_columns().index(name)


def row_of(export: GraphExport, application_id: str) -> int:
    return int(export.index_of(pd.Series([application_id]))[0])


def test_node_and_edge_types_come_from_the_schema() -> None:
    assert NODE_TYPES[0] == "Application"
    assert set(ID_LABELS) == {link.target for link in schema.LINKS}
    assert ("Application", "USES_PHONE", "Phone") in EDGE_TYPES
    assert ("Phone", "rev_USES_PHONE", "Application") in EDGE_TYPES
    assert ("Phone", "rev_LISTS_CONTACT", "Application") in EDGE_TYPES
    assert len(EDGE_TYPES) == 2 * len(schema.LINKS)
    for link in schema.LINKS:
        assert (APP, link.type, link.target) in EDGE_TYPES
        assert (link.target, f"rev_{link.type}", APP) in EDGE_TYPES


def test_hetero_data_shapes(tiny_export: GraphExport, tiny_config: FeatureConfig) -> None:
    features = build_features(tiny_export, tiny_config)
    data = to_hetero_data(features, Normaliser.fit(features))
    assert set(data.node_types) == set(NODE_TYPES)
    assert set(data.edge_types) == set(EDGE_TYPES)
    assert data[APP].x.shape == (60, len(tiny_config.app_columns()))
    assert data[APP].head.shape == (60, len(head_columns()))
    assert data["Phone"].x.shape[1] == len(id_columns("Phone")) == 2 * len(ID_FEATURES)
    for edge_type in data.edge_types:
        src, _, dst = edge_type
        index = data[edge_type].edge_index
        assert index.shape[0] == 2
        if index.numel():
            assert int(index[0].max()) < data[src].num_nodes
            assert int(index[1].max()) < data[dst].num_nodes
    # the tablet (20 applications), the farm device and nothing used only once
    assert set(features.id_values["Device"]) == {"TABLET", "FARM-1"}
    assert "FAMILY-FLAT" in set(features.id_values["Address"])
    assert "P001" not in set(features.id_values["Applicant"])  # used once: pruned


def test_a_hub_is_seen_only_through_its_size(tiny_export: GraphExport,
                                             tiny_config: FeatureConfig) -> None:
    features = build_features(tiny_export, tiny_config)
    devices = list(features.id_values["Device"])
    tablet, farm = devices.index("TABLET"), devices.index("FARM-1")
    block = features.id_x["Device"]
    assert block[tablet, ID_FEATURES.index("hub")] == 1.0
    assert block[tablet, ID_FEATURES.index("log_degree")] == pytest.approx(np.log1p(20))
    assert block[tablet, ID_FEATURES.index("log_applicants")] == 0.0
    assert block[farm, ID_FEATURES.index("hub")] == 0.0
    assert block[farm, ID_FEATURES.index("log_applicants")] == pytest.approx(np.log1p(4))
    forward = features.edges[(APP, "FROM_DEVICE", "Device")]
    reverse = features.edges[("Device", "rev_FROM_DEVICE", APP)]
    assert tablet not in set(forward[1])  # no messages from a hub's applications
    assert (reverse[0] == tablet).sum() == 20  # but every application hears the hub
    assert (forward[1] == farm).sum() == tiny_config.fanout  # only the newest three talk


def test_burst_and_earlier_outcomes(tiny_export: GraphExport, tiny_config: FeatureConfig) -> None:
    features = build_features(tiny_export, tiny_config)
    head = np.expm1(features.head_x)
    last, third = row_of(tiny_export, "A044"), row_of(tiny_export, "A031")
    assert head[last, column("FROM_DEVICE.prior")] == pytest.approx(3)
    assert head[last, column("FROM_DEVICE.prior_24h")] == pytest.approx(1)  # A031, 30 min
    assert head[last, column("FROM_DEVICE.other_applicants")] == pytest.approx(3)
    assert head[last, column("PAYS_TO.fraud_prior")] == pytest.approx(2)  # A010, A025
    assert head[third, column("PAYS_TO.fraud_prior")] == pytest.approx(2)
    assert head[row_of(tiny_export, "A010"), column("PAYS_TO.prior")] == 0
    tablet_user = row_of(tiny_export, "A003")
    assert head[tablet_user, column("FROM_DEVICE.hub_links")] == 1
    assert head[tablet_user, column("FROM_DEVICE.prior")] == 0  # hubs are not counted


def test_label_lag_hides_recent_outcomes(tiny_export: GraphExport) -> None:
    lagged = FeatureConfig(hub_degree=8, fanout=3, label_lag=10 * 86_400)
    head = np.expm1(build_features(tiny_export, lagged).head_x)
    # A025's outcome came 6 days before A031: not back yet with a 10-day lag; A010's is
    assert head[row_of(tiny_export, "A031"), column("PAYS_TO.fraud_prior")] == pytest.approx(1)


def _relabel(export: GraphExport, rows: np.ndarray, value: object) -> GraphExport:
    apps = export.applications.copy()
    for name in ("is_fraud", "fpd"):
        apps.loc[rows, name] = value
    return GraphExport(apps, export.links)


def _same(a: GraphFeatures, b: GraphFeatures) -> bool:
    return (np.array_equal(a.app_x, b.app_x) and np.array_equal(a.head_x, b.head_x)
            and all(np.array_equal(a.id_x[k], b.id_x[k]) for k in a.id_x))


def test_no_label_leakage_across_the_temporal_split(portfolio_export: GraphExport) -> None:
    export, config = portfolio_export, FeatureConfig()
    split = temporal_split(export.applications)
    held_out = np.flatnonzero(split.val | split.test)
    base = build_features(export, config, visible=split.train)
    # validation and test outcomes removed, or all flipped to fraud: identical features
    hidden = build_features(_relabel(export, held_out, pd.NA), config, visible=split.train)
    flipped = build_features(_relabel(export, held_out, 1), config, visible=split.train)
    assert _same(base, hidden)
    assert _same(base, flipped)
    # the control: were every outcome visible, flipping them would show (the test can fail)
    leaky = build_features(export, config)
    leaky_flipped = build_features(_relabel(export, held_out, 1), config)
    assert not _same(leaky, leaky_flipped)


def test_an_application_never_sees_its_own_outcome(tiny_export: GraphExport,
                                                   tiny_config: FeatureConfig) -> None:
    row = row_of(tiny_export, "A025")
    base = build_features(tiny_export, tiny_config)
    flipped = build_features(_relabel(tiny_export, np.array([row]), 0), tiny_config)
    assert np.array_equal(base.head_x[row], flipped.head_x[row])
    later = row_of(tiny_export, "A044")
    assert not np.array_equal(base.head_x[later], flipped.head_x[later])


def test_store_export_gives_the_same_features(tiny_store: GraphStore, tiny_export: GraphExport,
                                              tiny_config: FeatureConfig) -> None:
    from_store = build_features(export_graph(tiny_store), tiny_config)
    from_rows = build_features(tiny_export, tiny_config)
    assert np.allclose(from_store.head_x, from_rows.head_x)
    assert np.allclose(from_store.app_x, from_rows.app_x)


def test_normaliser_round_trip(tiny_export: GraphExport, tiny_config: FeatureConfig) -> None:
    features = build_features(tiny_export, tiny_config)
    norm = Normaliser.fit(features)
    again = Normaliser.from_dict(norm.as_dict())
    assert again.mean == norm.mean and again.std == norm.std
    assert len(norm.mean[HEAD]) == len(schema.LINKS) * len(HEAD_FEATURES)
    with pytest.raises(ValueError, match="feature columns"):
        norm.apply(APP, features.app_x[:, :3])
