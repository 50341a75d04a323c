"""`svcbot report --html`: one self-contained HTML page of charts made from `manager.store.report_data`.

The page must open anywhere, from a mail attachment to an air-gapped laptop: no JavaScript, no
network, no web fonts. Charts are inline SVG drawn here; hovering a bar shows its exact value
through SVG `<title>` tooltips, and a Content-Security-Policy forbids scripts and remote loads
altogether. Each chart also carries its data twice, for machines and for people: a
`<script type="application/json" id="data-NAME">` block (inert data, what the tests read back) and
a table inside `<details>` (for screen readers, copying, and checking a bar's value).

Every text that comes from the database (service names, categories) is escaped with
`html.escape`; inside the JSON blocks `<`, `>` and `&` are written as `\\u003c`... so that no value
can end the block. `render_html` is a pure function of its arguments; `write_atomic` is the one
piece of I/O, so that a reader never sees half a report.
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from manager.core.units import plural
from manager.store.report_data import PRIORITIES, CategoryCount, DailyCounts, ReportData

__all__ = ["PALETTE", "PRIORITY_COLORS", "render_html", "write_atomic"]

# Tableau 10: distinguishable, calm, and readable on white.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
OTHER_COLOR = "#bab0ac"
PRIORITY_COLORS = {"P1": "#e15759", "P2": "#f28e2b", "P3": "#edc948", "P4": "#76b7b2"}
OTHERS = "(others)"  # parentheses: not a valid service name, so it cannot clash with one

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CSP = "default-src 'none'; style-src 'unsafe-inline'"

_CSS = """
:root { --ink: #1f2328; --muted: #656d76; --line: #d0d7de; --grid: #eaeef2; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.15rem; margin: 0 0 2px; }
.meta, .note { color: var(--muted); margin: 0; }
.note { font-size: .85rem; margin-bottom: 8px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px;
  margin: 20px 0 8px; padding: 0; list-style: none; }
.cards li { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.cards b { display: block; font-size: 1.5rem; font-variant-numeric: tabular-nums; }
.cards span { color: var(--muted); font-size: .85rem; }
section { border-top: 1px solid var(--line); margin-top: 24px; padding-top: 16px; }
svg { display: block; width: 100%; height: auto; font-size: 11px; }
svg text { fill: var(--muted); }
svg .grid { stroke: var(--grid); }
svg .axis { stroke: var(--line); }
svg .value { fill: var(--ink); font-variant-numeric: tabular-nums; }
svg .label { fill: var(--ink); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 6px 0 0; padding: 0; list-style: none;
  font-size: .85rem; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.empty { background: var(--panel); border: 1px dashed var(--line); border-radius: 8px; padding: 28px;
  text-align: center; color: var(--muted); }
details { margin-top: 8px; font-size: .85rem; }
summary { cursor: pointer; color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin-top: 6px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--grid); padding: 2px 10px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
footer { margin-top: 32px; color: var(--muted); font-size: .8rem; }
"""

# Chart geometry, in SVG user units (the SVG scales to the page width).
WIDTH = 900
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 28, 30
MAX_X_LABELS = 12
MAX_SERIES = len(PALETTE)  # more services than colors: the smallest are drawn as one "(others)"
BAR_ROW = 26
BAR_TOP = 8
BAR_LABEL = 180
LABEL_CHARS = 26  # what fits left of the bars at the SVG's font size


@dataclass(frozen=True)
class _Chart:
    """One section of the page: what it is called and how to say that it is empty."""

    key: str
    title: str
    note: str
    unit: str  # what is counted: the y axis's label, and "No {unit} in this period."


CRASHES = _Chart("crashes", "Crashes per day", "Unexpected exits and crash loops, by service.", "crashes")
RESTARTS = _Chart(
    "restarts", "Restarts per day", "Automatic restarts by the supervisor, by service.", "restarts"
)
OPEN_ISSUES = _Chart(
    "open_issues",
    "Open issues by priority",
    "At the end of each day, under each issue's current priority; ignored issues left out.",
    "open issues",
)
FEEDBACK = _Chart("feedback", "Feedback by category", "Feedback received in the period.", "feedback")


def render_html(data: ReportData, *, title: str, generated_at: datetime) -> str:
    """The whole page as one string: same data, same page, byte for byte."""
    sections = [
        _daily_section(CRASHES, data.crashes, _service_colors(data.crashes), _stacked_bars),
        _daily_section(RESTARTS, data.restarts, _service_colors(data.restarts), _stacked_bars),
        _daily_section(OPEN_ISSUES, data.open_issues, _priority_colors(data.open_issues), _stacked_area),
        _feedback_section(data.feedback),
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            "<main>",
            _header(data, title, generated_at),
            *sections,
            f"<footer>Made by svcbot from its database at {_e(_when(generated_at))}. "
            "Days are UTC days.</footer>",
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and `os.replace`, so
    that the file is either the old report or the whole new one. The mode follows the umask, as
    for any file the user writes (a temporary file would otherwise leave it at 0600)."""
    folder = path.parent
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (reading it means setting it for an instant: fine in the CLI)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- page parts -----------------------------------------------------------------------------------------


def _header(data: ReportData, title: str, generated_at: datetime) -> str:
    open_now = sum(data.open_now().values())
    cards = [
        (data.crashes.total, "crashes"),
        (data.restarts.total, "automatic restarts"),
        (open_now, "open issues now"),
        (sum(c.count for c in data.feedback), "feedback"),
    ]
    items = "".join(f"<li><b>{n}</b><span>{_e(label)}</span></li>" for n, label in cards)
    return (
        f"<header><h1>{_e(title)}</h1>"
        f'<p class="meta">{_e(_when(data.since))} to {_e(_when(data.now))} ({plural(len(data.days), "day")}) '
        f"· generated {_e(_when(generated_at))}</p>"
        f'<ul class="cards">{items}</ul></header>'
    )


def _section(chart: _Chart, payload: Mapping[str, Any], body: str, table: str) -> str:
    return "\n".join(
        [
            f'<section id="{chart.key}">',
            f"<h2>{_e(chart.title)}</h2>",
            f'<p class="note">{_e(chart.note)}</p>',
            body,
            f'<script type="application/json" id="data-{chart.key}">{_json(payload)}</script>',
            f'<details><summary>Data table</summary><div class="scroll">{table}</div></details>',
            "</section>",
        ]
    )


def _empty(chart: _Chart) -> str:
    return f'<p class="empty" data-chart="{chart.key}">No {_e(chart.unit)} in this period.</p>'


_Draw = Callable[[_Chart, DailyCounts, Mapping[str, str]], str]


def _daily_section(chart: _Chart, counts: DailyCounts, colors: Mapping[str, str], draw: _Draw) -> str:
    body = _empty(chart) if counts.total == 0 else draw(chart, counts, colors) + _legend(colors)
    return _section(chart, counts.as_dict(), body, _daily_table(counts))


def _feedback_section(feedback: Sequence[CategoryCount]) -> str:
    payload = {"categories": {c.category: c.count for c in feedback}}
    body = _horizontal_bars(FEEDBACK, feedback) if feedback else _empty(FEEDBACK)
    rows = "".join(f"<tr><td>{_e(c.category)}</td><td>{c.count}</td></tr>" for c in feedback)
    table = f"<table><thead><tr><th>Category</th><th>Feedback</th></tr></thead><tbody>{rows}</tbody></table>"
    return _section(FEEDBACK, payload, body, table)


def _legend(colors: Mapping[str, str]) -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{color}"></span>{_e(name)}</li>'
        for name, color in colors.items()
    )
    return f'<ul class="legend">{items}</ul>'


def _daily_table(counts: DailyCounts) -> str:
    """Every day and every series, unfolded (the chart folds small services into "(others)")."""
    names = list(counts.series)
    head = "".join(f"<th>{_e(name)}</th>" for name in names)
    totals = counts.per_day()
    rows = []
    for i, day in enumerate(counts.days):
        cells = "".join(f"<td>{counts.series[name][i]}</td>" for name in names)
        rows.append(f"<tr><td>{day.isoformat()}</td>{cells}<td>{totals[i]}</td></tr>")
    return (
        f"<table><thead><tr><th>Day (UTC)</th>{head}<th>Total</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


# -- colors -------------------------------------------------------------------------------------------


def _service_colors(counts: DailyCounts) -> dict[str, str]:
    """One palette color per drawn series, biggest first; the rest share the "(others)" gray."""
    names = list(counts.series)
    if len(names) <= MAX_SERIES:
        return dict(zip(names, PALETTE, strict=False))
    shown = names[: MAX_SERIES - 1]
    return {**dict(zip(shown, PALETTE, strict=False)), OTHERS: OTHER_COLOR}


def _priority_colors(counts: DailyCounts) -> dict[str, str]:
    extra = [name for name in counts.series if name not in PRIORITY_COLORS]
    return {**{p: PRIORITY_COLORS[p] for p in PRIORITIES}, **dict.fromkeys(extra, OTHER_COLOR)}


def _drawn(counts: DailyCounts, colors: Mapping[str, str]) -> dict[str, tuple[int, ...]]:
    """The series as drawn: those with a color of their own, the rest summed into "(others)"."""
    drawn = {name: values for name, values in counts.series.items() if name in colors}
    rest = [values for name, values in counts.series.items() if name not in colors]
    if rest:
        drawn[OTHERS] = tuple(sum(column) for column in zip(*rest, strict=True))
    return drawn


# -- SVG ----------------------------------------------------------------------------------------------


def _svg(chart: _Chart, height: int, body: Sequence[str], description: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'data-chart="{chart.key}" aria-labelledby="title-{chart.key}">'
        f'<title id="title-{chart.key}">{_e(chart.title)}: {_e(description)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _plot_height() -> int:
    return HEIGHT - TOP - BOTTOM


def _slot(n_days: int) -> float:
    return (WIDTH - LEFT - RIGHT) / max(n_days, 1)


def _y(value: float, top: int) -> float:
    return TOP + _plot_height() * (1 - value / top)


def _axes(chart: _Chart, days: Sequence[date], peak: int) -> tuple[list[str], int]:
    """The y axis's label, horizontal grid lines with their values, the baseline and thinned-out
    day labels; answers the drawing and the value at the top of the scale."""
    ticks = _nice_ticks(peak)
    top = ticks[-1]
    parts = [f'<text x="{LEFT - 6}" y="{TOP - 14}">{_e(chart.unit)}</text>']
    for tick in ticks:
        y = _y(tick, top)
        css = "axis" if tick == 0 else "grid"
        parts.append(f'<line class="{css}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    every = math.ceil(len(days) / MAX_X_LABELS) or 1
    slot = _slot(len(days))
    for i in range(0, len(days), every):
        x = LEFT + slot * (i + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 10}" text-anchor="middle">{_day_label(days[i])}</text>')
    return parts, top


def _nice_ticks(peak: int) -> list[int]:
    """0 up to a round number at or above `peak`, in 1-2-5 steps, about five lines."""
    if peak <= 0:
        return [0, 1]
    magnitude = 10 ** math.floor(math.log10(max(peak / 4, 1)))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude * 5 >= peak)
    return list(range(0, math.ceil(peak / step) * step + 1, step))


def _stacked_bars(chart: _Chart, counts: DailyCounts, colors: Mapping[str, str]) -> str:
    """One bar per day, one colored segment per series, biggest series at the bottom."""
    drawn = _drawn(counts, colors)
    totals = counts.per_day()
    parts, top = _axes(chart, counts.days, max(totals))
    slot = _slot(len(counts.days))
    width = max(slot * 0.7, 1.0)
    for i, day in enumerate(counts.days):
        base = 0
        x = LEFT + slot * i + (slot - width) / 2
        for name, values in drawn.items():
            if values[i]:
                y0, y1 = _y(base + values[i], top), _y(base, top)
                tip = f"{day.isoformat()} · {name}: {values[i]}"
                parts.append(
                    f'<rect x="{x:.1f}" y="{y0:.1f}" width="{width:.1f}" height="{y1 - y0:.1f}" '
                    f'fill="{colors[name]}"><title>{_e(tip)}</title></rect>'
                )
                base += values[i]
    return _svg(chart, HEIGHT, parts, f"{counts.total} in total over {plural(len(counts.days), 'day')}")


def _stacked_area(chart: _Chart, counts: DailyCounts, colors: Mapping[str, str]) -> str:
    """Layers in priority order, P1 on the baseline where the most urgent stays easiest to read."""
    parts, top = _axes(chart, counts.days, max(counts.per_day()))
    xs = _area_xs(len(counts.days))
    below = [0] * len(counts.days)
    for name, values in counts.series.items():
        above = [b + v for b, v in zip(below, values, strict=True)]
        if any(values):
            parts.append(_layer(xs, below, above, top, color=colors[name], name=name))
        below = above
    last = counts.per_day()[-1]
    return _svg(chart, HEIGHT, parts, f"{last} open at the end of the period")


def _area_xs(n_days: int) -> list[float]:
    """Day centers; a single day is stretched over its slot so that the area has a width."""
    slot = _slot(n_days)
    if n_days == 1:
        return [LEFT + slot * 0.1, LEFT + slot * 0.9]
    return [LEFT + slot * (i + 0.5) for i in range(n_days)]


def _layer(xs: list[float], below: list[int], above: list[int], top: int, *, color: str, name: str) -> str:
    if len(xs) > len(above):  # the stretched single day
        below, above = below * 2, above * 2
    upper = [f"{x:.1f},{_y(v, top):.1f}" for x, v in zip(xs, above, strict=True)]
    lower = [f"{x:.1f},{_y(v, top):.1f}" for x, v in reversed(list(zip(xs, below, strict=True)))]
    return (
        f'<polygon points="{" ".join(upper + lower)}" fill="{color}" fill-opacity="0.85" '
        f'stroke="{color}" stroke-width="1"><title>{_e(name)}</title></polygon>'
    )


def _horizontal_bars(chart: _Chart, feedback: Sequence[CategoryCount]) -> str:
    """One row per category: its name, a bar in proportion to the largest, and the count."""
    height = BAR_TOP + BAR_ROW * len(feedback) + 8
    peak = max(c.count for c in feedback)
    span = WIDTH - BAR_LABEL - RIGHT - 48
    parts = []
    for i, item in enumerate(feedback):
        y = BAR_TOP + BAR_ROW * i
        length = max(span * item.count / peak, 2.0)
        parts.append(
            f'<text class="label" x="{BAR_LABEL - 8}" y="{y + 16}" text-anchor="end">'
            f"{_e(_clip(item.category, LABEL_CHARS))}</text>"
            f'<rect x="{BAR_LABEL}" y="{y + 4}" width="{length:.1f}" height="{BAR_ROW - 8}" rx="3" '
            f'fill="{PALETTE[0]}"><title>{_e(item.category)}: {item.count}</title></rect>'
            f'<text class="value" x="{BAR_LABEL + length + 6:.1f}" y="{y + 16}">{item.count}</text>'
        )
    total = sum(c.count for c in feedback)
    return _svg(chart, height, parts, f"{total} in {len(feedback)} categories")


# -- text ---------------------------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _json(payload: Mapping[str, Any]) -> str:
    """JSON that cannot end its `<script>` element or open a comment, whatever the strings hold."""
    text = json.dumps(payload, ensure_ascii=True, sort_keys=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters; the whole text is in the tooltip and the table."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _day_label(day: date) -> str:
    return f"{_MONTHS[day.month - 1]} {day.day}"
