"""Permis: the permission register and contact gate for outbound prospecting.

The public API is listed in ``__all__`` and loaded lazily (PEP 562), so that ``import permis``
stays cheap for the command line.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "App": "permis.bootstrap",
    "build": "permis.bootstrap",
    "init_register": "permis.bootstrap",
    "Settings": "permis.config",
    "PermisError": "permis.errors",
    "ContactPoint": "permis.domain.contact",
    "parse_contact": "permis.domain.contact",
    "contact_hash": "permis.domain.contact",
    "decide": "permis.domain.decide",
    "Audience": "permis.domain.model",
    "Channel": "permis.domain.model",
    "CheckRequest": "permis.domain.model",
    "Decision": "permis.domain.model",
    "Facts": "permis.domain.model",
    "Reason": "permis.domain.model",
    "ReasonCode": "permis.domain.model",
    "Policy": "permis.domain.pressure",
    "RulePack": "permis.domain.rules.base",
    "fr_pack": "permis.domain.rules.fr",
    "CheckQuery": "permis.services.gate",
    "Gate": "permis.services.gate",
    "Register": "permis.services.register",
}

__all__ = [
    "App",
    "Audience",
    "Channel",
    "CheckQuery",
    "CheckRequest",
    "ContactPoint",
    "Decision",
    "Facts",
    "Gate",
    "PermisError",
    "Policy",
    "Reason",
    "ReasonCode",
    "Register",
    "RulePack",
    "Settings",
    "build",
    "contact_hash",
    "decide",
    "fr_pack",
    "init_register",
    "parse_contact",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'permis' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return [*__all__, "__version__"]
