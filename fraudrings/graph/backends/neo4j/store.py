"""Neo4j over Bolt with the official driver: the server store investigators use in Browser.

Bulk loads are batched ``UNWIND`` statements in managed write transactions, committed by two
concurrent sessions after the uniqueness constraints exist (they make every ``MATCH``/``MERGE``
on a key an index seek): the new identifier nodes first, then each batch of applications with
all its relationships.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudrings.graph import schema
from fraudrings.graph.store import GraphStore, Progress, Statement, StoreError, Traits

log = logging.getLogger(__name__)

#: Applications per bulk-insert transaction (with their links, ~11 per application, and the
#: identifier nodes they bring). Measured at 100k applications on 2 cores: 20,000 spent a third
#: of the server's time in young-generation GC (a big transaction's state survives collections
#: and is copied), 2,500 almost none; below ~1,000 the per-commit cost grows again.
BATCH_ROWS = 2_500
#: Rows per statement where no application carries them (nodes alone, links by key, lookups).
NODE_BATCH_ROWS = 10_000
#: Sessions that commit a bulk insert's batches concurrently. One writer keeps one server
#: thread busy and leaves the second core mostly idle (server CPU ~1.0 core-second per second
#: at 100k); two finished 100k in 22 s instead of 31 s, three in 21 s.
WRITERS = 2


#: A parameter reference in a Cypher text.
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
#: The variable each row of a batched statement is bound to (:func:`batched`).
_ROW = "batchrow"


def batched(statements: Sequence[Statement]) -> list[Statement]:
    """``statements`` with each run of consecutive uses of one text sent as one statement: every
    statement is a round trip, and a group commit of six applications was twelve of them
    (``bench/group_write.py``: 17-23 -> 9-10 ms and 6.4-9.2 -> 2.3-2.7 ms of the caller's CPU a
    transaction at 100k). The run becomes ``UNWIND $rows AS batchrow CALL (batchrow) { text }``
    with each ``$name`` read from the row, so it does what the statements did one after the
    other, all or nothing. A text that could read differently that way is sent as it is: one
    that returns rows, has a quoted literal (a ``$`` in it is no parameter) or uses the row's
    name, and a run whose parameter maps do not all hold the text's parameters."""
    out: list[Statement] = []
    i = 0
    while i < len(statements):
        text = statements[i][0]
        end = i + 1
        while end < len(statements) and statements[end][0] == text:
            end += 1
        run = statements[i:end]
        form = _row_form(text) if len(run) > 1 else None
        if form is not None and all(form[1] <= params.keys() for _, params in run):
            out.append((form[0], {"rows": [{k: params[k] for k in form[1]}
                                           for _, params in run]}))
        else:
            out.extend(run)
        i = end
    return out


@functools.lru_cache(maxsize=256)  # a handful of texts, on every write: parse each once
def _row_form(text: str) -> tuple[str, frozenset[str]] | None:
    """The batched text of ``text`` and the parameters it reads; None: send it as it is."""
    names = _PARAMETER.findall(text)
    if (re.search(r"\bRETURN\b", text, re.IGNORECASE) or re.search(rf"\b{_ROW}\b", text)
            or any(quote in text for quote in "'\"`")
            or text.count("$") != len(names)):  # e.g. $0: leave it be
        return None
    body = _PARAMETER.sub(lambda m: f"{_ROW}.{m.group(1)}", text)
    return f"UNWIND $rows AS {_ROW} CALL ({_ROW}) {{ {body} }}", frozenset(names)


def constraints() -> list[str]:
    out = []
    for kind in schema.NODE_KINDS:
        out.append(
            f"CREATE CONSTRAINT {kind.label.lower()}_{kind.key} IF NOT EXISTS "
            f"FOR (n:{kind.label}) REQUIRE n.{kind.key} IS UNIQUE"
        )
    out.append(
        "CREATE INDEX application_applied_at IF NOT EXISTS FOR (n:Application) ON (n.applied_at)"
    )
    return out


class Neo4jStore(GraphStore):
    backend = "neo4j"
    traits = Traits(cheap_planning=False, round_trips=True, multiple_labels=True)

    def __init__(
        self,
        uri: str | None = None,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
    ) -> None:
        import neo4j  # lazily: only this backend needs it
        from neo4j.exceptions import AuthError, ServiceUnavailable

        self.uri = uri or os.environ.get("NEO4J_URI") or "bolt://127.0.0.1:7687"
        self.user = user or os.environ.get("NEO4J_USER") or "neo4j"
        password = password or os.environ.get("NEO4J_PASSWORD") or _local_password()
        self.database = database or os.environ.get("NEO4J_DATABASE") or "neo4j"
        self._driver = neo4j.GraphDatabase.driver(self.uri, auth=(self.user, password or ""))
        self._read_mode = neo4j.READ_ACCESS
        try:
            self._driver.verify_connectivity()
        except AuthError:
            self._driver.close()
            raise StoreError(
                f"Neo4j at {self.uri} refused user {self.user!r}: wrong password "
                "(set NEO4J_PASSWORD or --neo4j-password)"
            ) from None
        except (ServiceUnavailable, OSError, ValueError) as exc:
            self._driver.close()
            raise StoreError(
                f"cannot reach Neo4j at {self.uri}: {type(exc).__name__} "
                "(is it running? `scripts/neo4j start`)"
            ) from None

    def describe(self) -> str:
        return f"neo4j:{self.uri}/{self.database}"

    def ensure_schema(self) -> None:
        with self._driver.session(database=self.database) as session:
            for statement in constraints():
                session.run(statement).consume()

    def query(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        # an auto-commit read: RUN and PULL in one round trip, where a managed transaction
        # (``execute_query``) adds BEGIN and COMMIT; 3.2 -> 2.3 ms per neighbourhood lookup and
        # 1.63 -> 1.37 ms of the caller's CPU (the API's, on Neo4j, is ~10 ms per request)
        with self._driver.session(database=self.database,
                                  default_access_mode=self._read_mode) as session:
            return [record.data() for record in session.run(cypher, dict(params or {}))]

    def query_frame(self, cypher: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Large results come back as one record holding a list of rows: Bolt decodes one big
        list ~10x faster than as many records (measured at 20k rows: 1.2 s -> 0.11 s)."""
        params = dict(params or {})
        with self._driver.session(database=self.database) as session:
            explained = session.run("EXPLAIN " + cypher, params)
            keys = list(explained.keys())
            explained.consume()
            columns = ", ".join(f"`{k}`" for k in keys)
            record = session.run(
                f"CALL () {{ {cypher} }} RETURN collect([{columns}]) AS rows", params
            ).single()
        return pd.DataFrame(record["rows"] if record else [], columns=keys)

    def write(self, statements: Sequence[Statement],
              then: Statement | None = None) -> list[dict]:
        sent = batched(statements)

        def work(tx: Any) -> list[dict]:
            for cypher, params in sent:
                tx.run(cypher, dict(params)).consume()
            return [] if then is None else [r.data() for r in tx.run(then[0], dict(then[1]))]

        with self._driver.session(database=self.database) as session:
            rows = session.execute_write(work)
        self.generation += 1
        return rows

    def bulk_insert(
        self, nodes: Mapping[str, pd.DataFrame], rels: Mapping[str, pd.DataFrame],
        progress: Progress | None = None,
    ) -> None:
        """New applications with their identifier nodes and links, in two phases of batches
        that ``WRITERS`` sessions commit concurrently:

        1. the new identifier nodes, each in the batch of the first application that uses it;
        2. the applications, ``BATCH_ROWS`` per transaction, each with all its links: an
           application is never stored without its links.

        The nodes go first because every batch uses identifiers that the batch before it
        introduced, so one transaction per batch with its own nodes (the first design) makes
        the batches a chain that only one writer can follow; the server then works one core.

        A load that fails part-way (server gone, a transaction rolled back) leaves whole
        application batches only, and deletes the identifier nodes it created that no link
        reached (best effort: if the server is gone they stay, inert, and loading the same file
        again links them as stored). Loading the file again finishes the job.

        Relationships are created between node ids (``NodeByIdSeek``) that the ``CREATE``
        statements return, not by key: a key lookup costs a fresh index reader and a lock.
        Parameters are columns (one list per property), not a map per row. ``id()`` is
        deprecated in Neo4j 5 (these sessions turn the notifications off); the ids never leave
        the load, and a batch whose created nodes or links differ in number from what it sent
        raises inside its transaction, which rolls it back (a node deleted meanwhile cannot
        silently cost a link).
        """
        apps = nodes.get(schema.APPLICATION.label)
        if apps is None or apps.empty:
            self._bulk_insert_by_key(nodes, rels)
            return
        plan = _BulkPlan(self, apps, {k: v for k, v in nodes.items() if k != "Application"},
                         rels)

        def tick(stage: str) -> Callable[[int], None]:
            def report(batches: int) -> None:
                if progress is not None:
                    progress(stage, min(batches * BATCH_ROWS, plan.size), plan.size)
            return report

        try:
            if plan.node_text:
                self._concurrently(plan.write_identifiers, plan.batches,
                                   tick("writing identifiers"))
            self._concurrently(plan.write_applications, plan.batches, tick("inserting"))
        except BaseException:
            self._delete_unlinked(plan.created())
            raise
        if plan.leftover:  # links from applications stored before (none from a load)
            self._bulk_insert_by_key({}, plan.leftover)

    def _concurrently(self, work: Callable[[Any, int], None], batches: int,
                      done: Callable[[int], None]) -> None:
        """``work(tx, batch)`` for every batch, one managed write transaction each, by
        ``WRITERS`` sessions; ``done(batches committed so far)`` after each commit. The first
        failure stops the others taking new batches (those in flight finish or roll back) and
        is raised."""
        pending = iter(range(batches))
        committed = [0]
        lock = threading.Lock()
        failures: list[BaseException] = []

        def writer() -> None:
            with self._driver.session(database=self.database,
                                      notifications_min_severity="OFF") as session:
                while not failures:
                    with lock:
                        batch = next(pending, None)
                    if batch is None:
                        return
                    try:
                        session.execute_write(work, batch)
                        with lock:  # in order: a progress bar never steps back
                            self.generation += 1
                            committed[0] += 1
                            done(committed[0])
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller
                        failures.append(exc)
                        return

        threads = [threading.Thread(target=writer, name=f"neo4j-load-{i}", daemon=True)
                   for i in range(max(1, min(WRITERS, batches)))]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()
        except BaseException:  # Ctrl-C: no new batch starts; the ones in flight finish
            failures.append(KeyboardInterrupt())
            for thread in threads:
                thread.join()
            raise
        if failures:
            raise failures[0]

    def _delete_unlinked(self, created: Mapping[str, tuple[list[str], list[int]]]) -> None:
        """Delete nodes this load created (by label: keys and ids) that carry no link."""
        try:
            with self._driver.session(database=self.database,
                                      notifications_min_severity="OFF") as session:
                for label, (keys, ids) in created.items():
                    kind = schema.node_kind(label)
                    text = (f"UNWIND range(0, size($k) - 1) AS i MATCH (n:{kind.label} "
                            f"{{{kind.key}: $k[i]}}) WHERE id(n) = $ids[i] AND NOT (n)--() "
                            "DELETE n")
                    for start in range(0, len(keys), NODE_BATCH_ROWS):
                        params = {"k": keys[start : start + NODE_BATCH_ROWS],
                                  "ids": ids[start : start + NODE_BATCH_ROWS]}
                        session.execute_write(lambda tx, t=text, p=params: tx.run(t, p).consume())
        except Exception:  # the load's own failure is the one to report
            log.warning("bulk insert failed; its unlinked identifier nodes could not be "
                        "deleted (loading the same file again links them)")

    def _bulk_insert_by_key(
        self, nodes: Mapping[str, pd.DataFrame], rels: Mapping[str, pd.DataFrame]
    ) -> None:
        """Nodes without applications, and relationships between stored nodes, by key."""
        for label, frame in nodes.items():
            kind = schema.node_kind(label)
            for start in range(0, len(frame), NODE_BATCH_ROWS):
                chunk = _records(frame.iloc[start : start + NODE_BATCH_ROWS])
                self.write([(f"UNWIND $rows AS r CREATE (n:{kind.label}) SET n = r",
                             {"rows": chunk})])
        statements: list[Statement] = []
        for rel_type, frame in rels.items():
            target, key = _target(rel_type)
            for start in range(0, len(frame), NODE_BATCH_ROWS):
                pairs = frame.iloc[start : start + NODE_BATCH_ROWS]
                statements.append((
                    f"UNWIND $pairs AS p MATCH (a:Application {{application_id: p[0]}}) "
                    f"MATCH (n:{target} {{{key}: p[1]}}) CREATE (a)-[:{rel_type}]->(n)",
                    {"pairs": pairs[["from", "to"]].values.tolist()},
                ))
        if statements:
            self.write(statements)

    def _node_ids(self, label: str, keys: pa.Array) -> np.ndarray:
        """Ids of stored ``label`` nodes, in the order of ``keys``; raises if one is missing."""
        kind = schema.node_kind(label)
        text = (f"UNWIND range(0, size($k) - 1) AS i MATCH (n:{kind.label} "
                f"{{{kind.key}: $k[i]}}) RETURN collect(i) AS i, collect(id(n)) AS ids")
        out = np.full(len(keys), -1, dtype=np.int64)
        with self._driver.session(database=self.database,
                                  notifications_min_severity="OFF") as session:
            for start in range(0, len(keys), NODE_BATCH_ROWS):
                params = {"k": keys.slice(start, NODE_BATCH_ROWS).to_pylist()}
                record = session.execute_read(lambda tx, p=params: tx.run(text, p).single())
                out[start + np.asarray(record["i"], dtype=np.int64)] = record["ids"]
        if (out < 0).any():
            raise StoreError(f"bulk insert: links to {label} nodes that are neither new nor "
                             "stored")
        return out

    def clear(self) -> None:
        """Delete everything in batches of 10k (one huge transaction would need the heap of
        the whole graph); auto-commit, as ``IN TRANSACTIONS`` requires."""
        with self._driver.session(database=self.database) as session:
            for kind in schema.NODE_KINDS:
                session.run(
                    f"MATCH (n:{kind.label}) CALL (n) {{ DETACH DELETE n }} "
                    "IN TRANSACTIONS OF 10000 ROWS"
                ).consume()

    def close(self) -> None:
        self._driver.close()


class _BulkPlan:
    """What each transaction of a bulk insert sends, worked out once with Arrow and numpy
    kernels (no Python loop per row): the batch that first uses each new identifier node,
    every link as (application position, identifier code) sorted by application, and the
    node ids of identifiers stored before (looked up by key, once)."""

    def __init__(
        self,
        store: Neo4jStore,
        apps: pd.DataFrame,
        identifiers: Mapping[str, pd.DataFrame],
        rels: Mapping[str, pd.DataFrame],
    ) -> None:
        self.size = len(apps)
        self.batches = -(-self.size // BATCH_ROWS)
        self.app_columns = [(schema.check_name(c), _arrow(apps[c])) for c in apps.columns]
        app_keys = _arrow(apps[schema.APPLICATION.key]).cast(pa.string())
        targets = {rel: _target(rel)[0] for rel in rels}
        labels = sorted(set(identifiers) | set(targets.values()))
        for label in labels:
            schema.node_kind(label)  # a label outside the schema never reaches the text

        self.leftover: dict[str, pd.DataFrame] = {}
        links: dict[str, tuple[np.ndarray, pa.Array]] = {}  # rel -> (app position, target)
        for rel, frame in rels.items():
            position = pc.index_in(_arrow(frame["from"]).cast(pa.string()), value_set=app_keys)
            stored_app = pc.is_null(position).to_numpy(zero_copy_only=False)
            if stored_app.any():
                self.leftover[rel] = frame[stored_app]
            keep = ~stored_app
            to = _arrow(frame["to"]).cast(pa.string()).filter(pa.array(keep))
            links[rel] = (position.filter(pa.array(keep)).to_numpy().astype(np.int64), to)

        # Per label, one code per distinct key over the new nodes and the link targets.
        self.labels: list[tuple[str, list[tuple[str, pa.Array]], np.ndarray, np.ndarray]] = []
        self.node_ids: dict[str, np.ndarray] = {}
        self.rels: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]] = []
        for label in labels:
            kind = schema.node_kind(label)
            frame = identifiers.get(label, pd.DataFrame({kind.key: []}))
            mine = [rel for rel in rels if targets[rel] == label]
            parts = [_arrow(frame[kind.key]).cast(pa.string())] + [links[r][1] for r in mine]
            encoded = pc.dictionary_encode(pa.concat_arrays(parts))
            codes = encoded.indices.to_numpy().astype(np.int64)
            keys = encoded.dictionary
            new_codes, codes = codes[: len(frame)], codes[len(frame):]
            if len(np.unique(new_codes)) != len(new_codes):
                raise ValueError(f"bulk_insert: duplicate {label} keys among the new nodes")
            first = np.full(len(keys), self.batches, dtype=np.int64)  # batch that first uses
            offset = 0
            for rel in mine:
                position = links[rel][0]
                rel_codes = codes[offset : offset + len(position)]
                offset += len(position)
                np.minimum.at(first, rel_codes, position // BATCH_ROWS)
                order = np.argsort(position, kind="stable")
                position, rel_codes = position[order], rel_codes[order]
                bounds = np.searchsorted(position, np.arange(self.batches + 1) * BATCH_ROWS)
                self.rels.append((rel, label, position, rel_codes, bounds))
            node_ids = np.full(len(keys), -1, dtype=np.int64)
            is_new = np.zeros(len(keys), dtype=bool)
            is_new[new_codes] = True
            wanted = np.flatnonzero(~is_new & (first < self.batches))
            if len(wanted):  # link targets stored before this insert
                node_ids[wanted] = store._node_ids(label, keys.take(pa.array(wanted)))
            first[new_codes] = np.minimum(first[new_codes], self.batches - 1)
            order = np.argsort(first[new_codes], kind="stable")  # frame rows by first batch
            bounds = np.searchsorted(first[new_codes][order], np.arange(self.batches + 1))
            columns = [(schema.check_name(c), _arrow(frame[c]).take(pa.array(order)))
                       for c in frame.columns]
            self.node_ids[label] = node_ids
            if len(frame):
                self.labels.append((label, columns, new_codes[order], bounds))

        self.node_text = _node_text([(label, [c for c, _ in columns])
                                     for label, columns, _, _ in self.labels])
        props = ", ".join(f"{name}: $p{j}[i]" for j, (name, _) in enumerate(self.app_columns))
        self.app_text = (
            f"UNWIND range(0, size($p0) - 1) AS i CREATE (a:{schema.APPLICATION.label} "
            f"{{{props}}}) RETURN collect(i) AS i, collect(id(a)) AS ids"
        )
        self.rel_text = " ".join(
            f"CALL () {{ UNWIND range(0, size($a{j}) - 1) AS k "
            f"MATCH (a:{schema.APPLICATION.label}) WHERE id(a) = $a{j}[k] "
            f"MATCH (n:{label}) WHERE id(n) = $n{j}[k] CREATE (a)-[:{rel}]->(n) }}"
            for j, (rel, label, _, _, _) in enumerate(self.rels)
        )

    def write_identifiers(self, tx: Any, batch: int) -> None:
        """The new identifier nodes that ``batch``'s applications are the first to use."""
        params: dict[str, Any] = {}
        for j, (_, columns, _, bounds) in enumerate(self.labels):
            a, b = int(bounds[batch]), int(bounds[batch + 1])
            for m, (_, values) in enumerate(columns):
                params[f"v{j}_{m}"] = values.slice(a, b - a).to_pylist()
        record = _run(tx, self.node_text, params).single()
        for j, (label, _, codes, bounds) in enumerate(self.labels):
            mine = codes[int(bounds[batch]) : int(bounds[batch + 1])]
            _place(self.node_ids[label], mine, record[f"i{j}"], record[f"id{j}"], label)

    def write_applications(self, tx: Any, batch: int) -> None:
        """One transaction: the batch's applications and all their links. Counts are checked
        against what was sent; a mismatch raises, which rolls back."""
        lo, hi = batch * BATCH_ROWS, min(self.size, (batch + 1) * BATCH_ROWS)
        params: dict[str, Any] = {f"p{j}": values.slice(lo, hi - lo).to_pylist()
                                  for j, (_, values) in enumerate(self.app_columns)}
        record = _run(tx, self.app_text, params).single()
        app_ids = np.full(hi - lo, -1, dtype=np.int64)
        _place(app_ids, np.arange(hi - lo), record["i"], record["ids"], "Application")
        if not self.rel_text:
            return
        params, expected = {}, 0
        for j, (_, label, position, codes, bounds) in enumerate(self.rels):
            a, b = int(bounds[batch]), int(bounds[batch + 1])
            target = self.node_ids[label][codes[a:b]]
            if (target < 0).any():
                raise StoreError(f"bulk insert: a link's {label} node is neither new nor stored")
            params[f"a{j}"] = app_ids[position[a:b] - lo].tolist()
            params[f"n{j}"] = target.tolist()
            expected += b - a
        created = _run(tx, self.rel_text, params).consume().counters.relationships_created
        if created != expected:
            raise StoreError(f"bulk insert: {created} links created of {expected}; rolled back")

    def created(self) -> dict[str, tuple[list[str], list[int]]]:
        """label -> (keys, node ids) of the identifier nodes this insert has created so far."""
        out = {}
        for label, columns, codes, _ in self.labels:
            ids = self.node_ids[label][codes]
            done = ids >= 0
            if done.any():
                keys = dict(columns)[schema.node_kind(label).key].filter(pa.array(done))
                out[label] = (keys.to_pylist(), ids[done].tolist())
        return out


def _node_text(labels: Sequence[tuple[str, Sequence[str]]]) -> str:
    """CREATE each label's new nodes from columns $v<label>_<property>; return their ids."""
    if not labels:
        return ""
    calls, returns = [], []
    for j, (label, names) in enumerate(labels):
        props = ", ".join(f"{name}: $v{j}_{m}[i]" for m, name in enumerate(names))
        calls.append(f"CALL () {{ UNWIND range(0, size($v{j}_0) - 1) AS i CREATE (n:{label} "
                     f"{{{props}}}) RETURN collect(i) AS i{j}, collect(id(n)) AS id{j} }}")
        returns += [f"i{j}", f"id{j}"]
    return " ".join(calls) + " RETURN " + ", ".join(returns)


def _run(tx: Any, cypher: str, params: Mapping[str, Any]) -> Any:
    """Every statement of a bulk-insert transaction goes through here (tests fail one)."""
    return tx.run(cypher, params)


def _place(out: np.ndarray, codes: np.ndarray, rows: list[int], ids: list[int], what: str) -> None:
    if len(rows) != len(codes):
        raise StoreError(f"bulk insert: {len(rows)} {what} nodes created of {len(codes)}")
    out[codes[np.asarray(rows, dtype=np.int64)]] = ids


def _arrow(values: pd.Series) -> pa.Array:
    array = pa.array(values, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _target(rel_type: str) -> tuple[str, str]:
    if rel_type == schema.IN_RING:
        return "Ring", "ring_id"
    link = schema.link(rel_type)
    return link.target, schema.node_kind(link.target).key


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain dicts without nulls (Neo4j stores an absent property, not a null)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [{k: v for k, v in row.items() if v is not None} for row in clean.to_dict("records")]


def _local_password() -> str | None:
    """The password that ``scripts/neo4j`` generated for the local server, if there is one."""
    try:
        from fraudrings.graph.backends.neo4j import server

        return server.password()
    except Exception:
        return None
