"""fraudrings.gnn.sampler: a sampled batch computes exactly what the full graph computes."""

from __future__ import annotations

import torch
from torch_geometric.loader import NodeLoader

from fraudrings.gnn.data import Normaliser, in_channels, to_hetero_data
from fraudrings.gnn.features import FeatureConfig, build_features, head_columns
from fraudrings.gnn.model import RingSAGE
from fraudrings.gnn.relations import APP, EDGE_TYPES, NODE_TYPES
from fraudrings.gnn.sampler import ReceptiveFieldSampler
from fraudrings.graph.export import GraphExport


def test_batches_through_node_loader_match_the_full_graph(portfolio_export: GraphExport) -> None:
    features = build_features(portfolio_export, FeatureConfig())
    norm = Normaliser.fit(features)
    data = to_hetero_data(features, norm)
    torch.manual_seed(0)
    model = RingSAGE((NODE_TYPES, EDGE_TYPES), in_channels(norm), target=APP,
                     head_channels=len(head_columns()), hidden_channels=16).eval()
    with torch.no_grad():
        full = model(data.x_dict, data.edge_index_dict, data[APP].head)
    seeds = torch.arange(0, portfolio_export.n, 7)
    loader = NodeLoader(data, ReceptiveFieldSampler(data, 2, APP), input_nodes=(APP, seeds),
                        batch_size=128, shuffle=True)
    seen = 0
    for batch in loader:
        n = batch[APP].batch_size
        assert batch[APP].num_nodes < data[APP].num_nodes  # a neighbourhood, not the graph
        with torch.no_grad():
            out = model(batch.x_dict, batch.edge_index_dict, batch[APP].head, num_targets=n)
        assert torch.allclose(out, full[batch[APP].n_id[:n]], atol=1e-5)
        seen += n
    assert seen == len(seeds)
