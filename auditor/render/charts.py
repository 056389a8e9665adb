"""SVG charts generated in Python, the same in the HTML report and the PDF.

Plain SVG strings: no library, no fonts or images fetched, nothing that needs a browser to draw.
Every piece of text that may come from a cluster is escaped with markupsafe; numbers are formatted
here. The functions return `Markup` so the (auto-escaping) templates insert them as they are.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from auditor.i18n import N_
from auditor.i18n import gettext as _
from auditor.model import GATE_ORDER

FONT = "DejaVu Sans, Helvetica, Arial, Noto Sans CJK SC, sans-serif"  # CJK last: zh-CN labels (--lang)
INK = "#1f2933"
MUTED = "#66788a"
GRID = "#e4e8ec"
COLORS = {
    "istio": "#e0892b",     # still on Istio's sidecar: work left
    "asm": "#1b8a78",       # on ASM's proxy: done
    "none": "#c9d2db",      # not in the mesh
    "go": "#1e7d46",
    "nogo": "#c0392b",
    "incomplete": "#c98a00",
    "pending": "#9aa5b1",
    "current": "#1d4e89",
}
STATUS_COLORS = {
    "FAIL": "#c0392b", "UNKNOWN": "#c98a00", "WARN": "#e0892b", "PASS": "#1e7d46", "NOT_APPLICABLE": "#9aa5b1",
}
VERDICT_CLASS = {"GO": "go", "NO-GO": "nogo", "INCOMPLETE": "incomplete"}


def _t(value: Any) -> str:
    return str(escape(str(value)))


def _svg(width: float, height: float, body: Sequence[str], title: str) -> Markup:
    # width 100% + viewBox: scales to the column in the browser and in WeasyPrint alike.
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" font-family="{FONT}" font-size="11">'
        f"<title>{_t(title)}</title>{''.join(body)}</svg>")


def _text(x: float, y: float, text: Any, *, size: float = 11, anchor: str = "start", weight: str = "normal",
          fill: str = INK, extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
            f'fill="{fill}"{extra}>{_t(text)}</text>')


def fit(text: str, max_chars: int) -> str:
    """Shorten a label to fit a fixed box (the full text stays in the tables)."""
    return text if len(text) <= max_chars else text[: max(1, max_chars - 1)] + "\u2026"


def human(n: float) -> str:
    """1234 -> 1.2k; keeps charts legible for big clusters."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "-"
    a = abs(n)
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if a >= size:
            return f"{n / size:.1f}{unit}".replace(".0" + unit, unit)
    if float(n).is_integer():
        return f"{n:.0f}"
    text = f"{n:.2f}" if a < 10 else f"{n:.1f}"
    return text.rstrip("0").rstrip(".")


# ---------------------------------------------------------------- gate timeline
@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    width: int
    pseudo: bool = False  # a step inside a state (istioctl uninstall), not an ASMMigrateFromIstio state


STAGES: tuple[Stage, ...] = (
    Stage("not-joined", N_("Not joined"), 86, pseudo=True),
    Stage("Init", "Init", 62),
    Stage("SetupIstioForMigrate", "SetupIstioForMigrate", 150),
    Stage("Migrating", "Migrating", 84),
    Stage("uninstalled", "istioctl uninstall", 122, pseudo=True),
    Stage("Finished", "Finished", 76),
)
# The gate that guards the move from stage i to stage i+1.
GATE_BETWEEN: tuple[str, ...] = tuple(gate.value for gate in GATE_ORDER)


def stage_index(state: str | None, gates: Sequence[str], reachable: bool = True,
                joined: bool | None = None) -> int | None:
    """Where a cluster stands on the timeline; None when its state could not be read.

    A cluster that did not answer is drawn as unknown, never as "Not joined"; so is one ASM lists as joined
    while no migration state says where it stands."""
    if not reachable:
        return None
    if state is None:
        return 0 if "assessment" in gates and joined is not True else None
    keys = [s.key for s in STAGES]
    if state not in keys:
        return None
    index = keys.index(state)
    # Migrating with Istio's control plane gone is past the uninstall step (auto gate "finished").
    if state == "Migrating" and list(gates) == ["finished"]:
        index += 1
    return index


def _name_lines(names: Sequence[str], width: int, max_lines: int = 4) -> list[str]:
    """Cluster names packed into at most max_lines lines of about `width` characters."""
    lines: list[str] = []
    names = sorted(names)
    for i, name in enumerate(names):
        name = fit(name, width)
        if lines and len(lines[-1]) + 2 + len(name) <= width:
            lines[-1] += ", " + name
        elif len(lines) < max_lines:
            lines.append(name)
        else:
            lines[-1] = fit(lines[-1], width - 9) + _(" +{n} more").format(n=len(names) - i)
            break
    return lines


def timeline(positions: dict[str, int | None], gate_verdicts: dict[str, str]) -> Markup:
    """Init -> SetupIstioForMigrate -> Migrating -> (uninstall) -> Finished, clusters under their stage,
    the audited gate(s) coloured by verdict on the arrow they guard."""
    gap, left, top = 44, 6, 34
    node_h = 34
    xs: list[float] = []
    x = left
    for stage in STAGES:
        xs.append(x)
        x += stage.width + gap
    width = x - gap + left
    here: dict[int, list[str]] = {}
    for cluster, index in positions.items():
        if index is not None:
            here.setdefault(index, []).append(cluster)
    unknown = sorted(c for c, i in positions.items() if i is None)
    reached = max(here) if here else -1
    lines_below = max((len(_name_lines(v, 30)) for v in here.values()), default=0)
    height = top + node_h + 22 + 13 * min(lines_below, 4) + (16 if unknown else 0) + 4
    body: list[str] = [
        '<defs><marker id="tl-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{MUTED}"/></marker></defs>'
    ]
    for i, stage in enumerate(STAGES):
        x0 = xs[i]
        if i in here:
            fill, stroke, ink = COLORS["current"], COLORS["current"], "#ffffff"
        elif i < reached:
            fill, stroke, ink = "#dfe7f0", "#9fb3c8", INK
        else:
            fill, stroke, ink = "#ffffff", "#9fb3c8", MUTED
        dash = ' stroke-dasharray="4 3"' if stage.pseudo else ""
        body.append(f'<rect x="{x0:.1f}" y="{top}" width="{stage.width}" height="{node_h}" rx="6" fill="{fill}" '
                    f'stroke="{stroke}" stroke-width="1.4"{dash}/>')
        body.append(_text(x0 + stage.width / 2, top + node_h / 2 + 4, _(stage.label), anchor="middle",
                          weight="bold" if not stage.pseudo else "normal", fill=ink,
                          size=11 if not stage.pseudo else 10.5))
        for n, line in enumerate(_name_lines(here.get(i, []), max(10, int((stage.width + gap) / 6.2)))):
            body.append(_text(x0 + stage.width / 2, top + node_h + 15 + 13 * n, ("\u25b2 " if n == 0 else "") + line,
                              anchor="middle", size=10, fill=COLORS["current"], weight="bold"))
    for i, gate in enumerate(GATE_BETWEEN):
        x1 = xs[i] + STAGES[i].width + 2
        x2 = xs[i + 1] - 2
        audited = gate in gate_verdicts
        color = COLORS[VERDICT_CLASS.get(gate_verdicts.get(gate, ""), "pending")] if audited else "#b7c2cd"
        body.append(f'<line x1="{x1:.1f}" y1="{top + node_h / 2}" x2="{x2:.1f}" y2="{top + node_h / 2}" '
                    f'stroke="{color if audited else MUTED}" stroke-width="{2.4 if audited else 1.3}" '
                    'marker-end="url(#tl-arrow)"/>')
        cx = (x1 + x2) / 2
        chip_w = 8 + 6.4 * len(gate)
        if audited:
            verdict = gate_verdicts[gate]
            body.append(f'<rect x="{cx - chip_w / 2:.1f}" y="2" width="{chip_w:.1f}" height="15" rx="7.5" '
                        f'fill="{color}"/>')
            body.append(_text(cx, 13, gate, anchor="middle", size=9.5, weight="bold", fill="#ffffff"))
            body.append(_text(cx, 28, verdict, anchor="middle", size=9, weight="bold", fill=color))
        else:
            body.append(f'<rect x="{cx - chip_w / 2:.1f}" y="2" width="{chip_w:.1f}" height="15" rx="7.5" '
                        f'fill="#ffffff" stroke="{color}"/>')
            body.append(_text(cx, 13, gate, anchor="middle", size=9.5, fill=MUTED))
    if unknown:
        body.append(_text(left, height - 6, _("state unknown: ") + ", ".join(unknown[:6])
                          + (_(" +{n} more").format(n=len(unknown) - 6) if len(unknown) > 6 else ""), size=10,
                          fill=COLORS["incomplete"]))
    return _svg(width, height, body, _("Migration timeline and audited gate"))


# ---------------------------------------------------------------- status bar
def status_bar(summary: dict[str, int], order: Sequence[str]) -> Markup:
    """One 100% bar of findings by status, with counts (the executive summary's picture)."""
    width, height, bar_h = 680, 40, 16
    total = sum(summary.get(s, 0) for s in order)
    body: list[str] = []
    if total == 0:
        body.append(f'<rect x="0" y="0" width="{width}" height="{bar_h}" rx="3" fill="{GRID}"/>')
        body.append(_text(6, 12, _("no findings"), size=10, fill=MUTED))
        return _svg(width, height, body, _("Findings by status"))
    x = 0.0
    legend_x = 0.0
    for status in order:
        n = summary.get(status, 0)
        if not n:
            continue
        w = width * n / total
        body.append(f'<rect x="{x:.2f}" y="0" width="{max(w, 1.5):.2f}" height="{bar_h}" '
                    f'fill="{STATUS_COLORS[status]}"/>')
        x += w
        label = f"{status.replace('_', ' ')} {n:,}"
        body.append(f'<rect x="{legend_x:.1f}" y="{bar_h + 8}" width="9" height="9" rx="2" '
                    f'fill="{STATUS_COLORS[status]}"/>')
        body.append(_text(legend_x + 13, bar_h + 16.5, label, size=10))
        legend_x += 26 + 6.3 * len(label)
    return _svg(width, height, body, _("Findings by status"))


# ---------------------------------------------------------------- migration progress
def progress(rows: Sequence[dict[str, Any]]) -> Markup:
    """Workloads by proxy kind per namespace and cluster: 100% stacked bars with the counts beside.

    rows: {label, istio, asm, none, total: bool (cluster line), indent: bool}
    """
    label_w, bar_w, count_w, row_h = 210, 360, 150, 19
    width = label_w + bar_w + count_w
    legend_h = 22
    height = legend_h + row_h * len(rows) + 4
    body: list[str] = []
    lx = label_w
    for key, name in (("asm", _("ASM proxy")), ("istio", _("Istio sidecar")), ("none", _("no proxy"))):
        body.append(f'<rect x="{lx}" y="4" width="10" height="10" rx="2" fill="{COLORS[key]}"/>')
        body.append(_text(lx + 14, 13, name, size=10))
        lx += 28 + 6.5 * len(name)
    body.append(_text(width - 2, 13, _("on ASM / meshed"), size=10, anchor="end", fill=MUTED))
    y = legend_h
    for row in rows:
        total = row["istio"] + row["asm"] + row["none"]
        bold = "bold" if row.get("total") else "normal"
        if row.get("total") and y > legend_h:
            body.append(f'<line x1="0" y1="{y + 0.5}" x2="{width}" y2="{y + 0.5}" stroke="{GRID}"/>')
        indent = 12 if row.get("indent") else 0
        body.append(_text(indent, y + 13, fit(str(row["label"]), (label_w - indent) // 6.6), weight=bold,
                          size=10.5))
        x = float(label_w)
        h = 12 if row.get("total") else 10
        by = y + (row_h - h) / 2
        if total == 0:
            body.append(f'<rect x="{x}" y="{by:.1f}" width="{bar_w - 8}" height="{h}" fill="{GRID}"/>')
        for key in ("asm", "istio", "none"):
            n = row[key]
            if not n:
                continue
            w = (bar_w - 8) * n / total
            body.append(f'<rect x="{x:.2f}" y="{by:.1f}" width="{max(w, 1.2):.2f}" height="{h}" '
                        f'fill="{COLORS[key]}"><title>{_t(str(row["label"]) + f": {n} {key}")}</title></rect>')
            x += w
        meshed = row["istio"] + row["asm"]
        pct = f"{100 * row['asm'] / meshed:.0f}%" if meshed else "-"
        body.append(_text(width - 2, y + 13, f"{row['asm']:,} / {meshed:,}  {pct}", anchor="end", weight=bold,
                          size=10.5))
        y += row_h
    return _svg(width, height, body, _("Migration progress: workloads by proxy kind"))


# ---------------------------------------------------------------- gateway traffic
def _parse_time(text: Any) -> float | None:
    if isinstance(text, int | float):
        return float(text)
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _points(series: Any) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    if not isinstance(series, list):
        return out
    for item in series:
        if not isinstance(item, list | tuple) or len(item) < 2:
            continue
        t = _parse_time(item[0])
        try:
            v = float(item[1])
        except (TypeError, ValueError):
            continue
        if t is not None and math.isfinite(v):
            out.append((t, v))
    out.sort()
    return out


def _short_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%m-%d %H:%M")


def traffic(gateways: Sequence[dict[str, Any]]) -> Markup:
    """Requests per second through each Istio gateway over the window: one small panel per gateway,
    the same time axis for all, the peak written beside it.

    gateways: {label, sublabel, status, series: [[RFC3339, rps], ...]}
    """
    label_w, plot_w, peak_w, row_h, axis_h = 230, 370, 110, 40, 18
    width = label_w + plot_w + peak_w
    parsed = [(g, _points(g.get("series"))) for g in gateways]
    times = [t for _, pts in parsed for t, _ in pts]
    t0, t1 = (min(times), max(times)) if times else (0.0, 1.0)
    if t1 <= t0:
        t1 = t0 + 1
    height = row_h * len(parsed) + axis_h + 4
    body: list[str] = []
    for i, (gw, pts) in enumerate(parsed):
        y = i * row_h
        color = STATUS_COLORS.get(str(gw.get("status")), MUTED)
        body.append(f'<rect x="0" y="{y + 6}" width="4" height="{row_h - 12}" fill="{color}"/>')
        body.append(_text(10, y + 17, fit(str(gw.get("label", "")), 34), weight="bold", size=10.5))
        body.append(_text(10, y + 30, fit(str(gw.get("sublabel", "")), 38), size=9.5, fill=MUTED))
        px, py, ph = label_w, y + 5, row_h - 10
        body.append(f'<rect x="{px}" y="{py}" width="{plot_w}" height="{ph}" fill="#f6f8fa" stroke="{GRID}"/>')
        if not pts:
            body.append(_text(px + plot_w / 2, py + ph / 2 + 4, _("no series recorded"), anchor="middle", size=10,
                              fill=MUTED))
            body.append(_text(width - 2, y + 23, "-", anchor="end", size=10.5))
            continue
        peak = max(v for _, v in pts)
        scale = peak if peak > 0 else 1.0
        coords = [(px + plot_w * (t - t0) / (t1 - t0), py + ph - (ph - 3) * v / scale) for t, v in pts]
        line = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
        area = f"{coords[0][0]:.1f},{py + ph} {line} {coords[-1][0]:.1f},{py + ph}"
        body.append(f'<polygon points="{area}" fill="{color}" fill-opacity="0.18"/>')
        body.append(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        unit = str(gw.get("unit") or "req/s")
        peak_text = _("peak {value} {unit}").format(value=human(peak), unit=unit)
        last_text = _("last {value} {unit}").format(value=human(pts[-1][1]), unit=unit)
        body.append(_text(width - 2, y + 18, peak_text, anchor="end", size=10,
                          weight="bold" if peak > 0 else "normal", fill=INK if peak > 0 else MUTED))
        body.append(_text(width - 2, y + 31, last_text, anchor="end", size=9.5,
                          fill=MUTED))
    axis_y = row_h * len(parsed) + 2
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        ax = label_w + plot_w * frac
        body.append(f'<line x1="{ax:.1f}" y1="{axis_y - 2}" x2="{ax:.1f}" y2="{axis_y + 3}" stroke="{MUTED}"/>')
        if frac in (0.0, 0.5, 1.0):  # three labels: they never collide, whatever the window
            anchor = "start" if frac == 0 else ("end" if frac == 1 else "middle")
            body.append(_text(ax, axis_y + 14, _short_time(t0 + (t1 - t0) * frac), anchor=anchor, size=9,
                              fill=MUTED))
    body.append(_text(label_w - 8, axis_y + 14, _("time (UTC)"), anchor="end", size=9, fill=MUTED))
    return _svg(width, height, body, _("Traffic through Istio gateways"))


# ---------------------------------------------------------------- burn-down (run --history)
SERIES_COLORS = ("#1d4e89", "#e0892b", "#1b8a78", "#c0392b", "#7b5ea7", "#c98a00", "#66788a", "#2f9fd0")


def _line_panel(series: dict[str, list[tuple[float, float]]], t0: float, t1: float, top: float, title: str,
                width: float, label_w: float) -> list[str]:
    """One panel: a title, a 0..max axis, one line (with dots) per series, legend on the left."""
    plot_w, plot_h = width - label_w - 10, 120
    px, py = label_w, top + 18
    body = [_text(0, top + 11, title, weight="bold", size=11)]
    body.append(f'<rect x="{px}" y="{py}" width="{plot_w}" height="{plot_h}" fill="#f6f8fa" stroke="{GRID}"/>')
    peak = max((v for pts in series.values() for _, v in pts), default=0.0)
    scale = float(math.ceil(peak / 2) * 2) if peak > 0 else 1.0  # even: the middle gridline is a whole count
    for frac in (0.0, 0.5, 1.0):
        gy = py + plot_h - (plot_h - 6) * frac
        body.append(f'<line x1="{px}" y1="{gy:.1f}" x2="{px + plot_w}" y2="{gy:.1f}" stroke="{GRID}"/>')
        body.append(_text(px - 4, gy + 3.5, human(scale * frac if peak > 0 else 0), anchor="end", size=9,
                          fill=MUTED))
    if not series:
        body.append(_text(px + plot_w / 2, py + plot_h / 2, _("nothing recorded"), anchor="middle", size=10,
                          fill=MUTED))
    for i, (name, pts) in enumerate(sorted(series.items())[: len(SERIES_COLORS)]):
        color = SERIES_COLORS[i]
        coords = [(px + plot_w * (t - t0) / (t1 - t0), py + plot_h - (plot_h - 6) * v / scale) for t, v in pts]
        if len(coords) > 1:
            line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            body.append(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2"/>')
        body.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{color}"/>' for x, y in coords)
        ly = py + 8 + i * 15
        body.append(f'<rect x="0" y="{ly}" width="10" height="10" fill="{color}"/>')
        last = pts[-1][1] if pts else None
        body.append(_text(14, ly + 9, f"{fit(name, 18)}: {human(last) if last is not None else '-'}", size=9.5))
    return body


def burndown(sidecars: dict[str, list[tuple[float, float]]], blockers: dict[str, list[tuple[float, float]]],
             ) -> Markup:
    """Istio-sidecar pods left per cluster and blockers per gate, run after run (from the history database).

    Each series is drawn where it was measured only (a cluster whose pods were unread has no point that run).
    """
    width, label_w = 720, 170
    times = [t for group in (sidecars, blockers) for pts in group.values() for t, _ in pts]
    t0, t1 = (min(times), max(times)) if times else (0.0, 1.0)
    if t1 <= t0:
        t0, t1 = t0 - 1, t1 + 1  # one run: the points sit in the middle
    body = _line_panel(sidecars, t0, t1, 0, _("Pods still on Istio's sidecar, per cluster"), width, label_w)
    body += _line_panel(blockers, t0, t1, 150, _("Blockers, per audited gate"), width, label_w)
    axis_y = 150 + 18 + 120 + 4
    for frac, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
        ax = label_w + (width - label_w - 10) * frac
        body.append(_text(ax, axis_y + 10, _short_time(t0 + (t1 - t0) * frac), anchor=anchor, size=9, fill=MUTED))
    body.append(_text(label_w - 8, axis_y + 10, _("time (UTC)"), anchor="end", size=9, fill=MUTED))
    return _svg(width, axis_y + 16, body, _("Burn-down: Istio-sidecar pods and blockers over time"))
