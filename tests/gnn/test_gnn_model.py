"""fraudrings.gnn.model: the relational GraphSAGE's anatomy and its shortcuts."""

from __future__ import annotations

import torch
from torch_geometric.data import HeteroData
from torch_geometric.nn import SAGEConv

from fraudrings.gnn.data import Normaliser, in_channels, to_hetero_data
from fraudrings.gnn.features import FeatureConfig, build_features, head_columns
from fraudrings.gnn.model import LeanSAGEConv, RingSAGE, SeedEnsemble
from fraudrings.gnn.relations import APP, EDGE_TYPES, NODE_TYPES
from fraudrings.graph.export import GraphExport


def tiny_model(export: GraphExport, config: FeatureConfig) -> tuple[RingSAGE, HeteroData]:
    features = build_features(export, config)
    norm = Normaliser.fit(features)
    data = to_hetero_data(features, norm)
    torch.manual_seed(0)
    model = RingSAGE((NODE_TYPES, EDGE_TYPES), in_channels(norm), target=APP,
                     head_channels=len(head_columns()), hidden_channels=16).eval()
    return model, data


def test_anatomy() -> None:
    assert "GraphSAGE" in RingSAGE.__doc__ and "NeurIPS 2017" in RingSAGE.__doc__
    assert callable(RingSAGE.reset_parameters) and callable(RingSAGE.forward)


def test_forward_shapes_and_reset(tiny_export: GraphExport, tiny_config: FeatureConfig) -> None:
    model, data = tiny_model(tiny_export, tiny_config)
    out = model(data.x_dict, data.edge_index_dict, data[APP].head)
    assert out.shape == (60, 2)
    assert torch.isfinite(out).all()
    before = [p.clone() for p in model.parameters()]
    model.reset_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_scoring_only_the_first_targets_gives_the_same_logits(
        tiny_export: GraphExport, tiny_config: FeatureConfig) -> None:
    model, data = tiny_model(tiny_export, tiny_config)
    with torch.no_grad():
        full = model(data.x_dict, data.edge_index_dict, data[APP].head)
        first = model(data.x_dict, data.edge_index_dict, data[APP].head, num_targets=7)
    assert torch.allclose(full[:7], first, atol=1e-5)


def test_lean_conv_equals_sage_conv() -> None:
    torch.manual_seed(0)
    lean = LeanSAGEConv(8, 4, "mean")
    plain = SAGEConv((8, 8), 4, aggr="mean", root_weight=False, bias=False)
    plain.lin_l.weight.data.copy_(lean.lin_l.weight.data)
    for n_src, n_dst in ((5, 30), (30, 5)):  # transform first, then aggregate first
        x_src, x_dst = torch.randn(n_src, 8), torch.randn(n_dst, 8)
        edges = torch.stack([torch.randint(0, n_src, (40,)), torch.randint(0, n_dst, (40,))])
        assert torch.allclose(lean((x_src, x_dst), edges), plain((x_src, x_dst), edges),
                              atol=1e-5)


def test_homogeneous_graph_is_a_one_relation_hetero_graph() -> None:
    torch.manual_seed(0)
    model = RingSAGE((["node"], [("node", "to", "node")]), {"node": 5}, target="node",
                     out_channels=1, hidden_channels=8)
    x = torch.randn(12, 5)
    edges = torch.randint(0, 12, (2, 40))
    assert model({"node": x}, {("node", "to", "node"): edges}).shape == (12, 1)
    assert model({"node": x}, {("node", "to", "node"): edges}, num_targets=3).shape == (3, 1)


def test_seed_ensemble_is_the_mean_of_its_members() -> None:
    edge = ("node", "to", "node")
    members = []
    for seed in range(3):
        torch.manual_seed(seed)
        members.append(RingSAGE((["node"], [edge]), {"node": 5}, target="node", out_channels=1,
                                hidden_channels=8).eval())
    ensemble = SeedEnsemble(members)
    assert "NeurIPS 2017" in (SeedEnsemble.__doc__ or "")
    assert ensemble.target == "node" and ensemble.num_layers == 2
    x, edges = torch.randn(12, 5), torch.randint(0, 12, (2, 40))
    with torch.no_grad():
        expected = torch.stack([m({"node": x}, {edge: edges}) for m in members]).mean(0)
        assert torch.allclose(ensemble({"node": x}, {edge: edges}), expected, atol=1e-6)
        assert ensemble({"node": x}, {edge: edges}, num_targets=4).shape == (4, 1)
