"""Evaluation on a small planted portfolio where the expected rings are known."""

from __future__ import annotations

from fraudrings.graph.export import export_rows
from fraudrings.graph.rings import assemble_rings
from fraudrings.loaders.contract import validate
from fraudrings.loaders.generator import generate_portfolio
from fraudrings.sweep.evaluate import evaluate_rings, textbook_wcc


def test_metrics_on_known_rings() -> None:
    truth = {"rings": [{"members": ["a", "b", "c", "d"]}, {"members": ["x", "y", "z"]}],
             "decoys": [{"members": ["f1", "f2", "f3"]}, {"members": ["t1", "t2"]}]}
    # one ring found exactly, one found at Jaccard 2/4, one honest family pulled in
    q = evaluate_rings("m", [["a", "b", "c", "d"], ["x", "y", "q"], ["f1", "f2", "k"]], truth)
    assert q.ring_recall == 1.0
    assert q.member_precision == 6 / 10 and q.member_recall == 6 / 7
    assert q.decoy_share == 0.5
    q = evaluate_rings("m", [["x", "q", "r", "s"]], truth)
    assert q.ring_recall == 0.0  # Jaccard 1/6 < 0.5


def test_rings_beat_the_textbook_peer_on_a_planted_portfolio() -> None:
    portfolio = generate_portfolio(8000, seed=21)
    export = export_rows(validate(portfolio.applications).rows)
    rings, _ = assemble_rings(export)
    ours = evaluate_rings("fraudrings", [r.members for r in rings], portfolio.truth)
    peers = [evaluate_rings("wcc", textbook_wcc(export, cap), portfolio.truth)
             for cap in (None, 50)]
    assert ours.ring_recall >= 0.9
    assert ours.member_f1 >= 0.85
    assert ours.decoy_share <= 0.05
    assert ours.member_f1 >= 3 * max(p.member_f1 for p in peers)
