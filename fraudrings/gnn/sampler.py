"""Mini-batches past full-batch training, in plain PyTorch, plugged into PyG's ``NodeLoader``.

PyG's ``NeighborLoader`` needs pyg-lib or torch-sparse for its sampler (it raises ImportError on
the first batch without them). The graph the features build is already bounded — a non-hub
identifier passes messages from its ``fanout`` newest applications, a hub from none — so this
sampler does not draw at random: it takes the exact receptive field of the seed applications
(their identifiers, those identifiers' kept applications). A sampled batch therefore computes
exactly what the full graph computes for its seeds, only for fewer nodes.
"""

from __future__ import annotations

from collections import defaultdict

import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.sampler import (
    BaseSampler,
    HeteroSamplerOutput,
    NodeSamplerInput,
)

from fraudrings.gnn.relations import EdgeType


class _CSC:
    """Incoming edges of every destination node: ``src[ptr[v]:ptr[v + 1]]``."""

    def __init__(self, edge_index: Tensor, num_dst: int) -> None:
        order = torch.argsort(edge_index[1], stable=True)
        self.src = edge_index[0, order]
        counts = torch.bincount(edge_index[1], minlength=num_dst)
        self.ptr = torch.zeros(num_dst + 1, dtype=torch.long)
        self.ptr[1:] = torch.cumsum(counts, 0)

    def incoming(self, dst: Tensor) -> tuple[Tensor, Tensor]:
        """(source node, position of its destination in ``dst``) of every edge into ``dst``."""
        start, count = self.ptr[dst], self.ptr[dst + 1] - self.ptr[dst]
        owner = torch.repeat_interleave(torch.arange(len(dst)), count)
        first = torch.repeat_interleave(start - torch.cumsum(count, 0) + count, count)
        return self.src[first + torch.arange(len(owner))], owner


class ReceptiveFieldSampler(BaseSampler):
    """The ``num_hops`` in-neighbourhood of seed nodes of type ``target``, seeds first."""

    def __init__(self, data: HeteroData, num_hops: int, target: str) -> None:
        super().__init__()
        self.num_hops, self.target = num_hops, target
        self.num_nodes = {t: data[t].num_nodes for t in data.node_types}
        self.csc: dict[EdgeType, _CSC] = {
            et: _CSC(data[et].edge_index, self.num_nodes[et[2]]) for et in data.edge_types}

    def sample_from_nodes(self, index: NodeSamplerInput, **kwargs) -> HeteroSamplerOutput:
        seeds = index.node
        local = {t: torch.full((n,), -1, dtype=torch.long) for t, n in self.num_nodes.items()}
        nodes: dict[str, list[Tensor]] = defaultdict(list)
        count = defaultdict(int)

        def admit(node_type: str, candidates: Tensor) -> Tensor:
            fresh = torch.unique(candidates)
            fresh = fresh[local[node_type][fresh] < 0]
            local[node_type][fresh] = count[node_type] + torch.arange(len(fresh))
            count[node_type] += len(fresh)
            nodes[node_type].append(fresh)
            return fresh

        local[self.target][seeds] = torch.arange(len(seeds))  # seeds first, in their order
        count[self.target] = len(seeds)
        nodes[self.target].append(seeds)
        frontier = {self.target: seeds}
        rows: dict[EdgeType, list[Tensor]] = defaultdict(list)
        cols: dict[EdgeType, list[Tensor]] = defaultdict(list)
        for _ in range(self.num_hops):
            reached: dict[str, list[Tensor]] = defaultdict(list)
            for edge_type, csc in self.csc.items():
                src_type, _, dst_type = edge_type
                if dst_type not in frontier or not len(frontier[dst_type]):
                    continue
                src, owner = csc.incoming(frontier[dst_type])
                reached[src_type].append(admit(src_type, src))
                rows[edge_type].append(local[src_type][src])
                cols[edge_type].append(local[dst_type][frontier[dst_type][owner]])
            frontier = {t: torch.cat(v) for t, v in reached.items()}
        return HeteroSamplerOutput(
            node={t: torch.cat(v) for t, v in nodes.items()},
            row={et: torch.cat(v) for et, v in rows.items()},
            col={et: torch.cat(v) for et, v in cols.items()},
            edge={},
            metadata=(index.input_id, index.time),
        )

    def sample_from_edges(self, index: object, neg_sampling: object = None) -> None:
        raise NotImplementedError("ReceptiveFieldSampler samples around nodes only")

    @property
    def edge_permutation(self) -> None:
        return None
