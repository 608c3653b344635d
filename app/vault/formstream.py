"""The plain upload forms (no JavaScript), read as the body arrives: each file goes straight from the
request into ``documents.store``, never whole in memory and never spooled to a temporary file (which
would leave the plaintext on the server's disk for a while).

Werkzeug's form parser cannot do this: it spools every file before the view runs, and CSRFProtect asks
for the form first. So these routes are exempt from the automatic check, and this reader checks the
token itself, from the ``csrf_token`` field, which the browser sends first (it comes first in the
form): a file part that arrives before a valid token is refused before a byte of it is stored. Small
fields (the token, tags) are read whole, up to ``FIELD_MAX`` bytes each.
"""
from __future__ import annotations

from collections.abc import Iterator

from flask import current_app, request
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import BadRequest
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData, Preamble
from wtforms.validators import ValidationError

from app.services import documents

READ_SIZE = documents.READ_SIZE
FIELD_MAX = 4096
MAX_PARTS = 50


class FormReader:
    """The parts of a ``multipart/form-data`` request body, in order, as they arrive."""

    def __init__(self):
        mimetype, options = parse_options_header(request.content_type or "")
        if mimetype != "multipart/form-data" or not options.get("boundary"):
            raise BadRequest()
        self.decoder = MultipartDecoder(options["boundary"].encode("latin-1"), max_parts=MAX_PARTS)
        self.stream = request.stream
        self.in_part = False
        self.token_checked = not current_app.config.get("WTF_CSRF_ENABLED", True)

    def _events(self) -> Iterator:
        while True:
            event = self.decoder.next_event()
            if isinstance(event, NeedData):
                self.decoder.receive_data(self.stream.read(READ_SIZE) or None)
            elif isinstance(event, Epilogue):
                return
            elif not isinstance(event, Preamble):
                yield event

    def parts(self) -> Iterator[tuple[str, Field | File]]:
        """``("field", event)`` or ``("file", event)`` for each part but the token; the caller reads
        the part with ``value()`` or ``data()``, or not at all (the rest is then skipped)."""
        self.events = self._events()
        try:
            for event in self.events:
                if isinstance(event, Field) and event.name == "csrf_token":
                    self._check_token(self.value())
                    continue
                if not isinstance(event, (Field, File)):
                    raise BadRequest()
                if isinstance(event, File) and not self.token_checked:
                    raise CSRFError("The CSRF token is missing.")
                self.in_part = True
                yield ("file" if isinstance(event, File) else "field"), event
                if self.in_part:
                    self._skip()
        except ValueError:  # the parser refusing a malformed or cut body
            raise BadRequest() from None

    def _check_token(self, token: str) -> None:
        if self.token_checked:
            return
        try:
            validate_csrf(token)
        except ValidationError as error:
            raise CSRFError(error.args[0]) from None
        self.token_checked = True

    def _skip(self) -> None:
        """Read the rest of the current part, unused."""
        for _piece in self.data():
            pass

    def value(self) -> str:
        """The current part's text (at most ``FIELD_MAX`` bytes)."""
        kept = bytearray()
        for piece in self.data():
            kept += piece
            if len(kept) > FIELD_MAX:
                raise BadRequest()
        return kept.decode("utf-8", "replace")

    def data(self) -> Iterator[bytes]:
        """The current part's bytes, piece by piece, as the body is read (a malformed or cut body is
        a 400, raised through whoever is reading: the service then leaves nothing behind)."""
        try:
            for event in self.events:
                if not isinstance(event, Data):
                    raise BadRequest()
                if not event.more_data:
                    self.in_part = False  # before the last piece: a reader may stop right after it
                    if event.data:
                        yield event.data
                    return
                if event.data:
                    yield event.data
        except ValueError:
            raise BadRequest() from None
        raise BadRequest()
