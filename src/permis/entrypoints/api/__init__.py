"""The HTTP API (FastAPI): ``create_app`` builds it around one :class:`permis.bootstrap.App`.

``create_app`` is loaded on first use, not when this package is imported: the web pages import
``api.auth`` and the app imports the web pages, so building the app here would make any page
module unimportable on its own.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from permis.entrypoints.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
