"""The HTTP API (FastAPI): ``create_app`` builds it around one :class:`permis.bootstrap.App`."""

from permis.entrypoints.api.app import create_app

__all__ = ["create_app"]
