"""The HTTP API (FastAPI): ``permis.entrypoints.api.app.create_app`` builds it around one
:class:`permis.bootstrap.App`.

This package module imports nothing: the web pages import ``api.auth`` and the app imports the
web pages, so building the app here would make any page module unimportable on its own.
"""
