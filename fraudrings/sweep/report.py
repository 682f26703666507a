"""report.html: one self-contained page a person reads after a sweep.

Top rings with their pictures and what ties them, the distribution of scores, and precision /
recall of the score where post-loan outcomes are known. No external assets: pictures are
inline SVG, so the file can be mailed or archived as is.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fraudrings.sweep.pictures import draw_ring

if TYPE_CHECKING:
    from fraudrings.sweep.run import SweepResult

TOP_RINGS = 12

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.6rem} h2{margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0} td,th{padding:.2rem .6rem;border-bottom:1px solid
#eee;text-align:left;vertical-align:top} .ring{display:flex;gap:1rem;margin:1rem 0;
border:1px solid #e4e4e4;border-radius:6px;padding:.8rem} .ring svg{max-width:520px;height:auto}
.score{font-weight:600;color:#b00020} small{color:#666} code{font-size:12px}
"""


def _when(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def _figure_png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def score_histogram(result: SweepResult) -> str:
    import matplotlib.pyplot as plt

    scores = result.applications["score"].to_numpy(dtype=float)
    in_ring = result.applications["ring_id"].notna().to_numpy()
    fig, ax = plt.subplots(figsize=(7, 2.6))
    bins = np.linspace(0, 1, 41)
    ax.hist(scores[~in_ring], bins=bins, color="#9bb7d4", label="not in a ring", log=True)
    ax.hist(scores[in_ring], bins=bins, color="#d9534f", label="ring members", log=True,
            alpha=0.85)
    ax.set_xlabel("application score")
    ax.set_ylabel("applications (log)")
    ax.legend(frameon=False, fontsize=8)
    return _figure_png(fig)


def outcome_metrics(result: SweepResult) -> dict[str, Any] | None:
    """Precision / recall of the score on applications whose outcome is known."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    apps = result.export.applications
    known = apps["is_fraud"].notna().to_numpy()
    if known.sum() < 10:
        return None
    y = apps["is_fraud"].to_numpy(dtype=float, na_value=0)[known]
    if y.sum() == 0 or y.sum() == len(y):
        return None
    score = (result.applications.set_index("application_id")["score"]
             .reindex(apps["application_id"]).to_numpy(dtype=float))[known]
    precision, recall, _ = precision_recall_curve(y, score)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(recall, precision, color="#b00020")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("confirmed fraud among labelled applications", fontsize=9)
    in_ring = result.applications.set_index("application_id")["ring_id"].reindex(
        apps["application_id"]).notna().to_numpy()[known]
    flagged = in_ring.sum()
    return {
        "labelled": int(known.sum()), "fraud": int(y.sum()),
        "average_precision": float(average_precision_score(y, score)),
        "ring_precision": float(y[in_ring].mean()) if flagged else None,
        "ring_recall": float(y[in_ring].sum() / y.sum()),
        "curve": _figure_png(fig),
    }


def write_report(result: SweepResult, path: Path, meta: dict[str, Any]) -> Path:
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>fraudrings sweep</title>"
             f"<style>{CSS}</style></head><body>"]
    parts.append(f"<h1>fraudrings sweep</h1><p>{esc(meta['swept_at'])} · "
                 f"{esc(meta.get('store') or '')} · {meta['applications']:,} applications · "
                 f"<b>{len(result.rings):,} rings</b> · "
                 f"model: {esc(str(meta.get('gnn') or 'none (heuristics only)'))}</p>")
    parts.append("<h2>Stages</h2><table><tr><th>stage</th><th>seconds</th><th>peak MB "
                 "(process, resident)</th></tr>")
    for name, seconds in result.timings.items():
        parts.append(f"<tr><td>{esc(name)}</td><td>{seconds:.2f}</td>"
                     f"<td>{result.peak_mb.get(name, 0):.0f}</td></tr>")
    parts.append("</table><h2>Heuristics</h2><table><tr><th>heuristic</th><th>groups "
                 "found</th></tr>")
    for name, frame in result.heuristics.items():
        parts.append(f"<tr><td><code>{esc(name)}</code></td><td>{len(frame):,}</td></tr>")
    parts.append("</table>")
    parts.append(f"<h2>Scores</h2><img alt='score distribution' src='{score_histogram(result)}'>")
    metrics = outcome_metrics(result)
    if metrics:
        ring_p = (f"{metrics['ring_precision']:.2f}" if metrics["ring_precision"] is not None
                  else "-")
        parts.append(
            f"<p>Post-loan outcomes known for {metrics['labelled']:,} applications "
            f"({metrics['fraud']:,} confirmed fraud): average precision of the score "
            f"<b>{metrics['average_precision']:.3f}</b>; ring members are confirmed fraud in "
            f"{ring_p} of labelled cases and hold {metrics['ring_recall']:.0%} of the "
            f"confirmed fraud.</p><img alt='precision-recall' src='{metrics['curve']}'>")
    else:
        parts.append("<p>No post-loan outcomes known yet: no precision / recall.</p>")
    parts.append(f"<h2>Top rings</h2><p>The {min(TOP_RINGS, len(result.rings))} highest-scoring "
                 "of the sweep; all are in <code>rings.jsonl</code>.</p>")
    for ring in result.rings[:TOP_RINGS]:
        record = ring.as_dict()
        svg = draw_ring(record).decode()
        svg = svg[svg.find("<svg"):]
        shared = "".join(
            f"<tr><td>{esc(s['kind'])}</td><td><code>{esc(str(s['value']))}</code></td>"
            f"<td>{s['members']}</td></tr>" for s in record["shared"][:8])
        reasons = "".join(f"<li>{esc(r)}</li>" for r in record["reasons"])
        parts.append(
            f"<div class='ring'><div>{svg}</div><div><h3>{esc(ring.ring_id)} "
            f"<span class='score'>{ring.score:.2f}</span></h3>"
            f"<p>{len(ring.members)} applications by {len(ring.applicants)} applicants, "
            f"{_when(ring.first_seen)} → {_when(ring.last_seen)}</p>"
            f"<p><small>merchants: {esc(', '.join(ring.merchants) or '-')}<br>agents: "
            f"{esc(', '.join(ring.agents) or '-')}</small></p>"
            f"<b>Why</b><ul>{reasons}</ul><b>What ties it</b><table><tr><th>kind</th>"
            f"<th>value</th><th>members</th></tr>{shared}</table></div></div>")
    parts.append("</body></html>")
    path.write_text("".join(parts), encoding="utf-8")
    return path
