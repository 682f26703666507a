"""The command line end to end, as a user runs it: real processes, real stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def fraudrings(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fraudrings", *args], cwd=cwd, text=True,
                          capture_output=True, env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    done = fraudrings("generate", "-n", "3000", "--seed", "5", "--format", "csv", "--out",
                      "p", cwd=path)
    assert done.returncode == 0, done.stderr
    done = fraudrings("load", "p/applications.csv", "--db", "s.lbug", cwd=path)
    assert done.returncode == 0, done.stderr
    return path


def test_generate_load_reload_stats_on_ladybug(workdir: Path) -> None:
    first = fraudrings("load", "p/applications.csv", "--db", "g.lbug", cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert "3,000 loaded, 0 updated, 0 unchanged, 0 quarantined" in first.stdout
    again = fraudrings("load", "p/applications.csv", "--db", "g.lbug", cwd=workdir)
    assert "0 loaded, 0 updated, 3,000 unchanged, 0 quarantined" in again.stdout
    stats = fraudrings("stats", "--db", "g.lbug", "--json", cwd=workdir)
    data = json.loads(stats.stdout)
    assert data["nodes"]["Application"] == 3000
    assert data["most_shared"][0]["applications"] >= data["most_shared"][-1]["applications"]
    assert len(data["loads"]) == 2


def test_bad_rows_go_to_quarantine_with_reasons(workdir: Path) -> None:
    bad = workdir / "bad.csv"
    bad.write_text("application_id,applied_at,applicant_id,amount\n"
                   "B1,2025-01-01,P1,10\nB2,whenever,P2,10\nB3,2025-01-01,,10\n"
                   "B4,2025-01-01,P4,ten\n")
    done = fraudrings("load", "bad.csv", "--db", "bad.lbug", "--quarantine-dir", "q",
                      cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert "1 loaded, 0 updated, 0 unchanged, 3 quarantined" in done.stdout
    lines = (workdir / "q" / "bad.csv.quarantine.csv").read_text().splitlines()
    assert lines[0].startswith("_line,_reason,application_id")
    assert {line.split(",")[1] for line in lines[1:]} == {
        "unparseable time: applied_at", "missing required field: applicant_id",
        "wrong type: amount is not a number"}


def test_sweep_and_evaluate_on_ladybug(workdir: Path) -> None:
    sweep = fraudrings("sweep", "--db", "s.lbug", "--out", "out", "--no-gnn", cwd=workdir)
    assert sweep.returncode == 0, sweep.stderr
    assert "rings among 3,000 applications" in sweep.stdout
    for name in ("rings.jsonl", "applications.csv", "report.html"):
        assert (workdir / "out" / name).stat().st_size > 0
    evaluation = fraudrings("evaluate", "--db", "s.lbug", "--sweep", "out", "--truth",
                            "p/ground_truth.json", "--json", cwd=workdir)
    assert evaluation.returncode == 0, evaluation.stderr
    ours, peer, capped = json.loads(evaluation.stdout)
    assert ours["member_f1"] > max(peer["member_f1"], capped["member_f1"])


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("load", "missing.csv", "--db", "x.lbug"), {}, "no such file: missing.csv"),
        (("stats", "--store", "neo4j", "--neo4j-uri", "bolt://127.0.0.1:1"), {},
         "cannot reach Neo4j at bolt://127.0.0.1:1"),
        (("stats", "--store", "neo4j"), {"NEO4J_PASSWORD": "not-the-password"},
         "wrong password"),
        (("sweep", "--db", "empty.lbug", "--no-gnn"), {}, "the store holds no applications"),
        (("sweep", "--db", "s.lbug", "--param", "shared_device.window_days=abc"), {},
         "window_days"),
    ],
)
def test_errors_are_one_line_without_traceback(workdir: Path, args: tuple, env: dict,
                                               message: str) -> None:
    done = fraudrings(*args, cwd=workdir, env=env)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_neo4j_load_and_stats(workdir: Path, neo4j_store) -> None:
    done = fraudrings("load", "p/applications.csv", "--store", "neo4j", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert "3,000 loaded" in done.stdout
    stats = json.loads(fraudrings("stats", "--store", "neo4j", "--json", cwd=workdir).stdout)
    assert stats["nodes"]["Application"] == 3000
