"""The HTTP API: underwriting systems post each new application and get its risk, the ring it
joins or forms, the evidence and a recommendation (``fraudrings serve``).

Modules: :mod:`.app` (the FastAPI factory and routes), :mod:`.auth` (API keys),
:mod:`.models` (bodies, i.e. the OpenAPI description), :mod:`.scoring` (the per-application
path), :mod:`.neighbourhood` (the fast local graph fetch), :mod:`.ringstore` (rings read and
written), :mod:`.gnn` (the optional model), :mod:`.commits` (group commit), :mod:`.timing`
(the ``Server-Timing`` header), :mod:`.cli` (``serve`` and ``keys``).
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See :func:`fraudrings.api.app.create_app` (imported lazily: FastAPI is not needed to
    import the package)."""
    from fraudrings.api.app import create_app as factory

    return factory(*args, **kwargs)
