"""A self-contained HTML report: tables and PNG figures embedded as base64 data URIs.

The page references nothing outside itself (no scripts, fonts, stylesheets or
images by URL), so it can be mailed, archived or opened offline.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from aekit._version import __version__
from aekit.io import atomic_path

Rows = Sequence[Mapping[str, Any]]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } .sub { color: #666; margin-top: 0; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1.2rem; font-size: 0.92rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; } caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
figure { margin: 0.8rem 0 1.4rem; } figcaption { color: #555; font-size: 0.9rem; }
img { max-width: 100%; height: auto; } p.note { color: #444; }
"""


@dataclass
class Section:
    """One titled part of a report.

    Attributes
    ----------
    title : str
    text : str
        Plain-text paragraphs, separated by blank lines (escaped, not HTML).
    tables : list of (caption, rows)
        ``rows`` is a list of dicts (one per row) or a single dict (shown as key/value).
    figures : list of (caption, path to a PNG file)
    """

    title: str
    text: str = ""
    tables: list[tuple[str, Any]] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)


def format_value(value: Any) -> str:
    """Compact text for a table cell: 4 significant digits for floats, '–' for None."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.3e}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(format_value(v) for v in value) + ")" if value else "()"
    return str(value)


def html_table(rows: Any, caption: str = "") -> str:
    """An HTML table from a list of dicts (columns = union of keys) or one dict (key/value)."""
    if isinstance(rows, Mapping):
        rows = [{"field": k, "value": v} for k, v in rows.items()]
    rows = list(rows)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(_cell(r.get(c)) for c in columns) + "</tr>" for r in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _cell(value: Any) -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f"<td{' class=num' if numeric else ''}>{html.escape(format_value(value))}</td>"


def png_data_uri(path: str | Path) -> str:
    """``data:image/png;base64,...`` for a PNG file."""
    data = Path(path).read_bytes()
    if not data.startswith(b"\x89PNG"):
        raise ValueError(f"{path}: not a PNG file")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def html_figure(path: str | Path, caption: str = "") -> str:
    """An ``<figure>`` with the PNG embedded; a missing file becomes a short note instead."""
    if not Path(path).is_file():
        return f"<p class=note>(figure {html.escape(Path(path).name)} not found)</p>"
    alt = html.escape(caption or Path(path).stem)
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{alt}" src="{png_data_uri(path)}">{cap}</figure>'


def _section_html(section: Section) -> str:
    parts = [f"<h2>{html.escape(section.title)}</h2>"]
    parts += [f"<p>{html.escape(p.strip())}</p>" for p in section.text.split("\n\n") if p.strip()]
    parts += [html_table(rows, caption) for caption, rows in section.tables]
    parts += [html_figure(path, caption) for caption, path in section.figures]
    return "\n".join(parts)


def render_report(title: str, sections: Sequence[Section], subtitle: str = "") -> str:
    """The whole page as one HTML string.

    Parameters
    ----------
    title : str
    sections : sequence of Section
    subtitle : str, optional
        A line under the title; the date and aekit version are always added.
    """
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sub = " · ".join(s for s in (subtitle, f"aekit {__version__}", stamp) if s)
    body = "\n".join(_section_html(s) for s in sections)
    return (
        "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n<p class=sub>{html.escape(sub)}</p>\n{body}\n</body>\n</html>\n"
    )


def write_report(path: str | Path, title: str, sections: Sequence[Section], subtitle: str = "") -> Path:
    """Render and write the report atomically.

    Parameters
    ----------
    path : str or Path
        The ``.html`` file to write.
    title : str
    sections : sequence of Section
    subtitle : str, optional

    Returns
    -------
    Path

    Examples
    --------
    >>> sec = Section("Metrics", tables=[("test", {"test_mse": 0.01})])
    >>> write_report("/tmp/aekit-example.html", "Example", [sec]).name
    'aekit-example.html'
    """
    path = Path(path)
    text = render_report(title, sections, subtitle)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def history_summary(rows: Rows, limit: int = 25) -> list[dict[str, Any]]:
    """Rows of a training history for a table: every epoch if few, else the first,
    the best (lowest validation or training loss) and the last few."""
    rows = [{k: v for k, v in r.items() if k not in ("examples_per_second",)} for r in rows]
    if len(rows) <= limit:
        return rows
    key = "val_loss" if any("val_loss" in r for r in rows) else "loss"
    best = min(range(len(rows)), key=lambda i: float(rows[i].get(key, math.inf)))
    keep = sorted({0, best, *range(len(rows) - 5, len(rows))})
    return [rows[i] for i in keep]


__all__ = ["Section", "format_value", "history_summary", "html_figure", "html_table", "png_data_uri",
           "render_report", "write_report"]
