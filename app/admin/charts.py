"""Server-rendered SVG charts: readable without JavaScript, every label escaped, the numbers also in the
table the template puts beside each chart (the chart is ``aria-hidden``-free but titled, the table is the
accessible source)."""
from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup, escape

WIDTH, BAR, GAP, LABEL = 480, 22, 8, 190


def _n(value) -> int:
    """A count to draw; a suppressed small count ("<5", ``indicators.SMALL``) draws as nothing."""
    return value if isinstance(value, int) else 0


def _drawn(section) -> list[tuple]:
    """The rows a chart draws: an unknown figure (None, shown as "—" in the table) or a suppressed one as 0, and past
    ``section.top`` rows the largest ``top`` and one "others" bar (the table still lists every row)."""
    rows = [(k, label, 0 if v is None else v) for k, label, v in section.rows]  # "<5" stays written as such
    limit = getattr(section, "top", 0)
    if limit and len(rows) > limit:
        rest = sorted(rows, key=lambda row: _n(row[2]), reverse=True)
        rows = rest[:limit] + [("others", _("Others (%(n)s)", n=len(rest) - limit),
                                sum(_n(v) for _k, _l, v in rest[limit:]))]
    return rows


def bars(section) -> Markup:
    """Horizontal bars, one per row, scaled to the largest value."""
    rows = _drawn(section)
    top = max([_n(v) for _k, _l, v in rows] + [1])
    height = len(rows) * (BAR + GAP) + GAP
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
             f'aria-labelledby="chart-{escape(section.key)}"><title id="chart-{escape(section.key)}">'
             f'{escape(section.title)}</title>']
    for i, (_key, label, value) in enumerate(rows):
        y = GAP + i * (BAR + GAP)
        w = round((WIDTH - LABEL - 60) * _n(value) / top)
        parts.append(f'<text x="0" y="{y + BAR - 6}" class="chart-label">{escape(str(label)[:28])}</text>'
                     f'<rect x="{LABEL}" y="{y}" width="{w}" height="{BAR}" class="chart-bar"/>'
                     f'<text x="{LABEL + w + 4}" y="{y + BAR - 6}" class="chart-value">{escape(str(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(section) -> Markup:
    """A time series as columns (one per day or week), with the first and last written below."""
    rows = _drawn(section)
    top = max([_n(v) for _k, _l, v in rows] + [1])
    height, base = 160, 130
    step = (WIDTH - 40) / max(len(rows), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
             f'aria-labelledby="chart-{escape(section.key)}"><title id="chart-{escape(section.key)}">'
             f'{escape(section.title)}</title><text x="0" y="12" class="chart-value">{top}</text>']
    for i, (_key, _label, value) in enumerate(rows):
        h = round((base - 20) * _n(value) / top)
        parts.append(f'<rect x="{40 + i * step:.1f}" y="{base - h}" width="{max(step - 2, 1):.1f}" '
                     f'height="{h}" class="chart-bar"/>')
    if rows:
        parts.append(f'<text x="40" y="{height - 8}" class="chart-label">{escape(rows[0][1])}</text>'
                     f'<text x="{WIDTH}" y="{height - 8}" text-anchor="end" class="chart-label">'
                     f'{escape(rows[-1][1])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def chart(section) -> Markup:
    return columns(section) if section.chart == "columns" else bars(section)
