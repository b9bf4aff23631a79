"""One exception tree for Permis.

Every error has a stable ``code`` (scripts and the API rely on it), an HTTP status and a process
exit code. Messages never contain personal data: contact points are masked before they reach a
message. A refusal to contact is *not* an error: it is a :class:`permis.domain.model.Decision`.
"""

from __future__ import annotations


class PermisError(Exception):
    """Base of every error Permis raises on purpose."""

    code = "PERMIS_ERROR"
    http_status = 500
    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class UsageError(PermisError):
    """A malformed command or request: bad option value, missing option, unknown channel."""

    code = "USAGE_ERROR"
    http_status = 422
    exit_code = 2


class InvalidTime(UsageError):
    """A time that is not ISO 8601 or has no UTC offset (Permis never guesses a zone)."""

    code = "INVALID_TIME"


class InvalidContact(UsageError):
    """A contact point that cannot be parsed or validated (a refusal: exit 1, never a guess)."""

    code = "INVALID_CONTACT"
    exit_code = 1


class NotFound(PermisError):
    code = "NOT_FOUND"
    http_status = 404
    exit_code = 2


class UnknownPrincipal(NotFound):
    code = "UNKNOWN_PRINCIPAL"


class UnknownContact(NotFound):
    """No contact point with that value in the register (the message never repeats it)."""

    code = "UNKNOWN_CONTACT"


class AmbiguousPrincipal(UsageError):
    code = "AMBIGUOUS_PRINCIPAL"


class ToolMissing(PermisError):
    """An outside program Permis needs (headless Chromium for PDFs) is not installed."""

    code = "TOOL_MISSING"
    http_status = 503
    exit_code = 3


class ConfigError(PermisError):
    code = "CONFIG_ERROR"
    exit_code = 2


class StorageError(PermisError):
    """The register cannot be used as it is."""

    code = "STORAGE_ERROR"
    http_status = 503
    exit_code = 3


class DatabaseUnreachable(StorageError):
    code = "DATABASE_UNREACHABLE"


class SchemaOutdated(StorageError):
    code = "SCHEMA_OUTDATED"


class RegisterNotInitialised(StorageError):
    code = "REGISTER_NOT_INITIALISED"


class ChainBroken(StorageError):
    code = "CHAIN_BROKEN"


class Unauthorized(PermisError):
    """No API key, or one that is unknown or revoked."""

    code = "UNAUTHORIZED"
    http_status = 401
    exit_code = 2


class Forbidden(PermisError):
    """The key's role may not use this route."""

    code = "FORBIDDEN"
    http_status = 403
    exit_code = 2


class ProcessorNotAuthorized(Forbidden):
    """A processor acting for a principal, channel or campaign it is not authorised for."""

    code = "PROCESSOR_NOT_AUTHORIZED"


class InvalidSignature(Forbidden):
    """A webhook or link whose signature does not verify."""

    code = "INVALID_SIGNATURE"


class RateLimited(PermisError):
    code = "RATE_LIMITED"
    http_status = 429
    exit_code = 2


class Conflict(PermisError):
    code = "CONFLICT"
    http_status = 409
    exit_code = 2
