"""Errors raised by services, carrying a stable code that the API returns and pages translate."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, str] | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.fields = fields or {}
        self.status = status or self.status

    @property
    def explained(self) -> str:
        """The message followed by each field's own message, for a page that shows one flash: a generic
        "Some information is not valid." alone does not tell the person what to change."""
        said = str(self.message)
        extra = [text for text in dict.fromkeys(map(str, self.fields.values())) if text and text not in said]
        return " ".join([said, *extra])


class ValidationFailed(ServiceError):
    """Input that breaks a rule; ``fields`` maps each field name to a message for the person."""

    status = 422
    code = "validation_error"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"
