"""Exports (issue 11): the owner's data carried away as one ZIP, optionally encrypted, made in the
background. The format is docs/export-format.md; ``portfolio.json`` comes from
``app.services.export_portfolio`` (re-exported here: ``build_portfolio``)."""
from __future__ import annotations

from app.services.export_portfolio import (  # noqa: F401 - the contract others import from here
    FORMAT, SECTIONS, VERSION, Selection, build_portfolio, clean_selection, counts,
)
