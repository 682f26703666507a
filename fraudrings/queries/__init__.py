"""The Cypher heuristics, one ``.cypher`` file each, and the runner that executes them unchanged
on LadybugDB or Neo4j: :mod:`fraudrings.queries.catalog` (``catalog()``, ``get``, ``run``,
``run_all``), :mod:`fraudrings.queries.cli` and the seeded :mod:`fraudrings.queries.fixtures`."""
