"""Errors of the badges package.

Two kinds, because callers handle them differently:

* ``InvalidValue`` (a ``ValueError``) is raised while *building* a document from values the
  platform was given: it names the offending ``field`` so a service can turn it into a form
  message (``ValidationFailed(fields={field: message})``).
* ``BadgeError`` is raised while *reading* something that came from outside (an image, a JSON
  text, a fetched URL): it carries a stable ``code`` that the verifier, the API and the CLI
  report as is (``no_badge``, ``too_large``, ``invalid_image``, ...).
"""
from __future__ import annotations


class InvalidValue(ValueError):
    """A value refused while building a badge document (control character, relative id, ...)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class BadgeError(Exception):
    """Something read from outside is not a usable badge; ``code`` is stable, ``message`` readable.

    ``params`` carry the facts a caller may put in its own words (the verifier's fr/en texts): the
    repeated ``key``, the ``limit`` passed, the parser's ``reason``.
    """

    def __init__(self, code: str, message: str, **params):
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"BadgeError({self.code!r}, {self.message!r})"


# Stable codes, listed once so callers (and tests) do not spell them from memory.
NO_BADGE = "no_badge"                  # a valid image that carries no badge
INVALID_IMAGE = "invalid_image"        # truncated PNG, bad CRC, unparsable or hostile SVG
UNSUPPORTED_IMAGE = "unsupported_image"  # neither PNG nor SVG
TOO_LARGE = "too_large"                # image or embedded payload over the bounds
TOO_DEEP = "too_deep"                  # JSON nested deeper than any badge needs (a parser attack)
TOO_COMPLEX = "too_complex"            # more objects, values or array items than any credential needs
INVALID_CREDENTIAL = "invalid_credential"  # the embedded/submitted text is not a badge document
DUPLICATE_KEY = "duplicate_key"        # a JSON object repeats a key: its meaning is ambiguous
UNSUPPORTED_DOCUMENT = "unsupported_document"  # JSON that is neither a credential nor an OB 2.0 assertion
FETCH_REQUIRED = "fetch_required"      # a hosted OB 2.0 URL was given but no fetch function
FETCH_FAILED = "fetch_failed"          # the fetch function passed in could not get the URL
MULTIPLE_BADGES = "multiple_badges"    # an image with two badge chunks / elements: which one counts?
COMPRESSED_BADGE = "compressed_badge"  # a compressed (zTXt, or iTXt with the flag set) badge chunk
