"""Who may use which route: the one table, read by the routes and by the role × route test.

Keys are ``"METHOD /path"`` as FastAPI declares them; the value is the roles admitted besides
``admin`` (who may use every keyed route), or :data:`PUBLIC` for a route that takes no key (its
own signature or token protects it). ``tests/integration/test_api_roles.py`` walks
``app.routes``: a route missing from this table fails the test, and every role is tried on every
keyed route, so the table is the behaviour.

A ``processor`` never reads the register's contents (DESIGN.md 4.4): it checks, scrubs, and
reports attempts and refusals as itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from permis.services.keys import KeyInfo, Role

PUBLIC: frozenset[Role] = frozenset()
"""No bearer key: health, OpenAPI, and the doors that carry their own proof (a provider's
signature, a signed link, the agent screen's session); their own tests cover that proof."""

C, M, P, A = Role.COMPLIANCE, Role.CAMPAIGN, Role.PROCESSOR, Role.AGENT

ROUTE_ROLES: dict[str, frozenset[Role]] = {
    "GET /healthz": PUBLIC,
    "GET /openapi.json": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /docs/oauth2-redirect": PUBLIC,
    "GET /v1/decisions": frozenset({C, M, P, A}),
    "POST /v1/decisions": frozenset({C, M, P, A}),
    "POST /v1/consents": frozenset({C, M}),
    "POST /v1/objections": frozenset({C, M, A}),
    "POST /v1/refusals": frozenset({C, M, A, P}),
    "POST /v1/contracts": frozenset({C, M}),
    "POST /v1/attempts": frozenset({C, M, P}),
    "POST /v1/budgets": frozenset({C, M}),
    "GET /v1/contacts/{contact}/history": frozenset({C}),
    "POST /v1/scrubs": frozenset({C, M, P}),
    "GET /v1/scrubs/{job_id}": frozenset({C, M, P}),
    "GET /v1/scrubs/{job_id}/allowed": frozenset({C, M, P}),
    "GET /v1/scrubs/{job_id}/rejects": frozenset({C, M, P}),
    "GET /v1/processors": frozenset({C}),
    "POST /v1/processors": frozenset({C}),
    "GET /v1/suppressions/changes": frozenset({P}),
    "POST /v1/deliveries/{delivery}/ack": frozenset({P, C}),
    "GET /v1/deliveries/lag": frozenset({C}),
    "GET /v1/deliveries/overdue": frozenset({C}),
    "GET /v1/violations": frozenset({C}),
    # the doors of the people contacted and of the agents: their own proof, no bearer key
    "POST /inbound/sms/twilio": PUBLIC,  # the provider's signature
    "GET /u/{token}": PUBLIC,  # a signed, expiring link
    "POST /u/{token}": PUBLIC,
    "GET /p/{token}": PUBLIC,
    "POST /p/{token}": PUBLIC,
    "GET /p/{token}/receipts/{event_id}": PUBLIC,  # the same link; that contact's events only
    "GET /.well-known/permis-receipts.jwk": PUBLIC,  # a public key, published
    "GET /agent": PUBLIC,  # an agent key, entered once, kept in a sealed session cookie
    "POST /agent": PUBLIC,
    "POST /agent/login": PUBLIC,
    "POST /agent/logout": PUBLIC,
    # the back office: a compliance (or admin) key in the same kind of sealed session cookie;
    # its pages check the role themselves (web/backoffice.py ALLOWED) and answer a 403 page
    "GET /backoffice": PUBLIC,
    "GET /backoffice/export/{table}.csv": PUBLIC,
    "GET /backoffice/report": PUBLIC,
    "GET /backoffice/relevance": PUBLIC,
    "POST /backoffice/login": PUBLIC,
    "POST /backoffice/logout": PUBLIC,
}


def roles_of(route: str) -> frozenset[Role]:
    """The roles admitted on ``route`` besides admin (KeyError: the route is not in the table)."""
    return ROUTE_ROLES[route]


def admit(request: Request, route: str) -> KeyInfo:
    """What :func:`guard` does, called by hand: the hot route skips FastAPI's dependency
    machinery (about a third of a single check's time)."""
    from permis.entrypoints.api.auth import caller

    return admitted(caller(request), route)


def admitted(info: KeyInfo, route: str) -> KeyInfo:
    """``info`` if its role may use ``route`` (admin may use every keyed route), else 403."""
    allowed = roles_of(route)
    if info.role is not Role.ADMIN and info.role not in allowed:
        from permis.errors import Forbidden

        names = ", ".join(sorted(r.value for r in allowed | {Role.ADMIN}))
        raise Forbidden(f"role {info.role.value} may not use this route (allowed: {names})")
    return info


def guard(route: str) -> Callable[[Request], Awaitable[KeyInfo]]:
    """The dependency for ``route``: ``Depends(guard("POST /v1/scrubs"))``."""
    from permis.entrypoints.api.auth import require

    roles = roles_of(route)
    if not roles:
        raise ValueError(f"{route} is public: it takes no key")
    return require(*roles)
