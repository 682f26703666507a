"""The project's GNN: relational GraphSAGE with a jumping-knowledge head; seed ensembles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv

from fraudrings.gnn.relations import EdgeType

Metadata = tuple[Sequence[str], Sequence[EdgeType]]


def _key(edge_type: EdgeType) -> str:
    return "__".join(edge_type)


class LeanSAGEConv(SAGEConv):
    """:class:`SAGEConv` without root weight and bias that applies its linear map on the
    smaller side of a bipartite relation: for a linear aggregation (mean, sum)
    ``W · mean(x_u) = mean(W · x_u)``, and an identifier type has far fewer nodes than there
    are applications, so transforming before aggregating saves most of the matrix products."""

    def __init__(self, in_channels: int, out_channels: int, aggr: str | list[str]) -> None:
        super().__init__((in_channels, in_channels), out_channels, aggr=aggr,
                         root_weight=False, bias=False)
        self._linear_aggr = aggr in ("mean", "sum")

    def forward(self, x: tuple[Tensor, Tensor], edge_index: Tensor,  # type: ignore[override]
                size: tuple[int, int] | None = None) -> Tensor:
        x_src, x_dst = x
        size = (x_src.size(0), x_dst.size(0))
        if (self.aggr == "mean" and not self.training and isinstance(edge_index, Tensor)
                and edge_index.layout == torch.strided
                and edge_index.dim() == 2):
            # scoring: the same mean without MessagePassing's per-call machinery, which was
            # most of the model time on one application's neighbourhood (dozens of relations);
            # a sparse adjacency (GADBench's graphs) goes through propagate
            def aggregate(values: Tensor) -> Tensor:
                return self._mean(values, edge_index, size[1])
        else:
            def aggregate(values: Tensor) -> Tensor:
                return self.propagate(edge_index, x=(values, None), size=size)
        if self._linear_aggr and x_src.size(0) < x_dst.size(0):
            return aggregate(self.lin_l(x_src))
        return self.lin_l(aggregate(x_src))

    @staticmethod
    def _mean(values: Tensor, edge_index: Tensor, n_dst: int) -> Tensor:
        """Mean of ``values[src]`` per destination (zero where none), as PyG's mean aggregation."""
        src, dst = edge_index[0], edge_index[1]
        total = values.new_zeros(n_dst, values.size(1)).index_add_(
            0, dst, values.index_select(0, src))
        count = torch.bincount(dst, minlength=n_dst).clamp_(min=1).unsqueeze(1)
        return total / count.to(values.dtype)


class RingSAGE(nn.Module):
    r"""Relational GraphSAGE for application graphs.

    The method is GraphSAGE (Hamilton, Ying and Leskovec, *Inductive Representation Learning on
    Large Graphs*, NeurIPS 2017) made relational as in R-GCN (Schlichtkrull et al., *Modeling
    Relational Data with Graph Convolutional Networks*, ESWC 2018) and PyG's ``HeteroConv``: one
    :class:`~torch_geometric.nn.conv.SAGEConv` per edge type, summed per destination type,

    .. math::
        h_v^{(l+1)} = \mathrm{LN}\Big(h_v^{(l)} + \mathrm{drop}\,\sigma\big(W_{\tau(v)} h_v^{(l)}
        + \sum_{r \in \mathcal{R}(\tau(v))} W_r \,\mathrm{AGG}_{u \in N_r(v)} h_u^{(l)}\big)\Big),

    with a residual connection and layer norm (so two layers do not wash out an application's
    own evidence), and a jumping-knowledge head (Xu et al., ICML 2018) over the target's
    representations after every layer concatenated with its *head features* — per-application
    quantities that only the scored node needs (bursts, earlier outcomes on its identifiers).

    It is inductive: nothing is learnt per node, so an application that arrived after training
    is scored from its neighbourhood. With ``metadata = (["node"], [("node", "to", "node")])``
    and no head features it is a plain homogeneous model (GADBench).

    Args:
        metadata: node types and edge types ``(src, relation, dst)``.
        in_channels: input feature width per node type.
        target: the node type that is classified.
        head_channels: width of the head features (0: none).
        hidden_channels: width of every hidden representation.
        num_layers: message-passing layers (the receptive field in hops).
        out_channels: logits per target (here: fraud, first-payment default).
        dropout: dropout after each layer and in the head.
        aggr: neighbour aggregation of SAGEConv ("mean", "max", "sum" or a list of them).
    """

    def __init__(self, metadata: Metadata, in_channels: Mapping[str, int], *, target: str,
                 head_channels: int = 0, hidden_channels: int = 64, num_layers: int = 2,
                 out_channels: int = 2, dropout: float = 0.2,
                 aggr: str | Sequence[str] = "mean") -> None:
        super().__init__()
        node_types, edge_types = list(metadata[0]), [tuple(e) for e in metadata[1]]
        self.node_types, self.edge_types, self.target = node_types, edge_types, target
        self.num_layers, self.dropout = num_layers, dropout
        aggr = aggr if isinstance(aggr, str) else list(aggr)
        self.encoders = nn.ModuleDict({t: nn.Linear(in_channels[t], hidden_channels)
                                       for t in node_types})
        self.convs = nn.ModuleList()
        self.roots = nn.ModuleList()
        self.norms = nn.ModuleList()
        for layer in range(num_layers):
            # the last layer only has to update the target: relations into it are enough
            last = layer == num_layers - 1
            kept = [e for e in edge_types if not last or e[2] == target]
            updated = sorted({e[2] for e in kept} | ({target} if last else set(node_types)))
            self.convs.append(nn.ModuleDict({
                _key(e): LeanSAGEConv(hidden_channels, hidden_channels, aggr)
                for e in kept}))
            self.roots.append(nn.ModuleDict({t: nn.Linear(hidden_channels, hidden_channels)
                                             for t in updated}))
            self.norms.append(nn.ModuleDict({t: nn.LayerNorm(hidden_channels)
                                             for t in updated}))
        self._edge = {_key(e): e for e in edge_types}
        self._self_relation = any(e[0] == target and e[2] == target for e in edge_types)
        self.head_encoder = nn.Linear(head_channels, hidden_channels) if head_channels else None
        width = hidden_channels * (num_layers + 1 + (1 if head_channels else 0))
        self.head = nn.Sequential(nn.Linear(width, hidden_channels), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(hidden_channels, out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(self, x_dict: Mapping[str, Tensor], edge_index_dict: Mapping[EdgeType, Tensor],
                head: Tensor | None = None, num_targets: int | None = None) -> Tensor:
        """Logits ``(num_targets, out_channels)`` of the first ``num_targets`` target nodes
        (all of them when ``None``; a sampled batch puts its seeds first)."""
        n = x_dict[self.target].size(0) if num_targets is None else num_targets
        h = {t: torch.relu(self.encoders[t](x_dict[t])) for t in self.node_types}
        sliced = n < h[self.target].size(0) and not self._self_relation
        jumps = [h[self.target][:n]]
        for layer, (convs, roots, norms) in enumerate(zip(self.convs, self.roots, self.norms,
                                                          strict=True)):
            # only targets need layer `layer` when fewer hops than two remain and no relation
            # joins the target type to itself (applications meet only through identifiers)
            only_targets = sliced and self.num_layers - 1 - layer < 2
            dst_h = {t: (h[t][:n] if only_targets and t == self.target else h[t])
                     for t in roots if h[t].size(0)}
            message = {t: roots[t](v) for t, v in dst_h.items()}
            for key, conv in convs.items():
                src, _, dst = self._edge[key]
                edge_index = edge_index_dict.get(self._edge[key])
                if edge_index is None or dst not in message or edge_index.size(1) == 0:
                    continue  # no edges: the aggregation is zero
                if only_targets and dst == self.target:
                    edge_index = edge_index[:, edge_index[1] < n]
                message[dst] = message[dst] + conv((h[src], dst_h[dst]), edge_index)
            h = {**h, **{t: norms[t](dst_h[t] + nn.functional.dropout(
                torch.relu(message[t]), self.dropout, self.training)) for t in message}}
            jumps.append(h[self.target][:n])
        if self.head_encoder is not None:
            if head is None:
                raise ValueError("this model needs head features")
            jumps.append(torch.relu(self.head_encoder(head[:n])))
        return self.head(torch.cat(jumps, dim=-1))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(target={self.target}, "
                f"relations={len(self.edge_types)}, layers={self.num_layers})")


class SeedEnsemble(nn.Module):
    """The mean logit of several :class:`RingSAGE` trained alike from different random seeds
    (a deep ensemble: Lakshminarayanan, Pritzel and Blundell, *Simple and Scalable Predictive
    Uncertainty Estimation using Deep Ensembles*, NeurIPS 2017). Averaging members that each
    stopped early on a noisy validation curve steadies the ranking; the calling convention is
    the single model's."""

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.target = members[0].target
        self.num_layers = max(m.num_layers for m in members)

    def forward(self, x_dict: Mapping[str, Tensor], edge_index_dict: Mapping[EdgeType, Tensor],
                head: Tensor | None = None, num_targets: int | None = None) -> Tensor:
        return torch.stack([m(x_dict, edge_index_dict, head, num_targets)
                            for m in self.members]).mean(dim=0)
