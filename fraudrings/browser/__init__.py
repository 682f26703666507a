"""The investigator's side of fraudrings: Neo4j Browser and ring pictures outside it.

- :mod:`.style` — one colour and caption per node kind (the GraSS Browser loads, and the colours
  of every ring picture), and the ``:RingMember`` marker label a sweep adds on Neo4j.
- :mod:`.guide` — the Browser guide (``:play``): investigator queries, and the heuristics as
  the sweep runs them (read through :mod:`fraudrings.queries.catalog`).
- :mod:`.routes` — serves the style and the guide with the headers Browser needs (an API router
  and a tiny standalone server); :mod:`.setup` — the neo4j.conf lines that point Browser there.
- :mod:`.ring` — one ring read from a store or a ``rings.jsonl``, as an interactive HTML page.
- :mod:`.cli` — ``fraudrings browser`` and ``fraudrings ring``.

Kept free of heavy imports: ``fraudrings.sweep.pictures`` imports the colours from here.
"""
