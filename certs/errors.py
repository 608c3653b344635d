"""Errors raised by certs, each with a stable machine-readable ``code``.

Callers (the web app, the CLI, the badges package) turn these codes into their own
error payloads, so a code never changes once published; the message is for humans.
They subclass ValueError because every one of them means "this input is not
acceptable", which is what callers already catch for bad input.
"""

from __future__ import annotations


class CertsError(ValueError):
    """Base class: ``code`` is stable, ``str(error)`` is a human explanation."""

    code = "certs_error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class UnknownDocumentError(CertsError):
    """The static loader was asked for a URL it does not bundle (it never fetches)."""

    code = "unknown_context"


class ContextIntegrityError(CertsError):
    """A bundled context file does not match its pinned SHA-256, or a URL is redefined."""

    code = "context_hash_mismatch"


class CanonicalizationError(CertsError):
    """A document cannot be turned into trustworthy RDF (undefined term, relative id...)."""

    code = "invalid_jsonld"


class KeyFormatError(CertsError):
    """A Multikey, did:key or did:web value is malformed or of an unsupported type."""

    code = "invalid_key"


class SigningError(CertsError):
    """Signing was refused (bad proof options, unsupported key...)."""

    code = "proof_generation_error"


class SealError(CertsError):
    """Sealed (encrypted) key material could not be opened: wrong key, label or tampering."""

    code = "seal_invalid"
