#!/usr/bin/env python3
"""plot-decide.py: decide_bench's Decide and Baseline figures as an SVG plot.

Reads the Google Benchmark JSON that decide_bench writes (--benchmark_format=json, or
--benchmark_out=FILE --benchmark_out_format=json), takes BM_Decide/N and BM_Baseline/N (N is
the partition count) and draws microseconds per decision against partitions on log-log axes,
each series with points and lines, the ratio Decide / Baseline beside each partition count,
and the run's date, commit and load in the title. The SVG is self-contained (no fonts, styles
or scripts from elsewhere). Python 3 standard library only.

Usage: scripts/plot-decide.py [--time cpu|real] [-o OUT.svg] RESULTS.json
  --time  which Google Benchmark time to plot (default cpu: the process's own CPU time, the
          steadier of the two on a shared machine)
  -o      where to write the SVG (default: RESULTS with .svg in place of .json)

Exit status: 0 with the SVG written; 2, with a message and nothing written, when the JSON cannot
be read, lacks either series, or has fewer than two partition counts in one of them; 1 when the
SVG cannot be written.
"""

import argparse
import json
import math
import os
import re
import statistics
import sys
from xml.sax.saxutils import escape

SERIES = ("Decide", "Baseline")
# The benchmark name: BM_Decide/1000, perhaps followed by Google Benchmark's own suffixes
# (/real_time, /repeats:3, ...).
NAME = re.compile(r"^BM_(Decide|Baseline)/(\d+)(?:/|$)")
TO_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
STYLE = {  # colour-blind-safe (Okabe-Ito) blue and orange; Baseline's points are squares
    "Decide": {"colour": "#0072b2", "marker": "circle"},
    "Baseline": {"colour": "#d55e00", "marker": "square"},
}

WIDTH, HEIGHT = 760, 500
LEFT, RIGHT, TOP, BOTTOM = 84, 736, 74, 432  # the plot area
X_PAD, Y_PAD = 0.3, 0.3  # decades of room around the data


class Refusal(Exception):
    """A reason to draw nothing; main() prints it and exits 2."""


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise Refusal(f"{path}: cannot read it ({e.strerror})")
    except ValueError as e:
        raise Refusal(f"{path}: not JSON ({e})")
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise Refusal(f'{path}: not Google Benchmark JSON (no "benchmarks" list)')
    return doc


def series_of(doc, path, time):
    """{"Decide": {partitions: µs}, "Baseline": {...}} from the runs in doc.

    Several repetitions of one benchmark give their median; when only aggregates were reported
    (--benchmark_report_aggregates_only), the median aggregate stands for them.
    """
    runs = {s: {} for s in SERIES}
    medians = {s: {} for s in SERIES}
    for b in doc["benchmarks"]:
        if not isinstance(b, dict) or b.get("error_occurred"):
            continue
        m = NAME.match(str(b.get("run_name", b.get("name", ""))))
        if not m or f"{time}_time" not in b:
            continue
        series, n = m.group(1), int(m.group(2))
        us = float(b[f"{time}_time"]) * TO_US.get(b.get("time_unit", "ns"), 1e-3)
        if b.get("run_type", "iteration") == "iteration":
            runs[series].setdefault(n, []).append(us)
        elif b.get("aggregate_name") == "median":
            medians[series][n] = us
    out = {}
    for s in SERIES:
        points = {n: statistics.median(v) for n, v in runs[s].items()} or medians[s]
        points = {n: us for n, us in points.items() if n > 0 and us > 0}
        if not points:
            found = sorted({str(b.get("name")) for b in doc["benchmarks"] if isinstance(b, dict)})
            shown = ", ".join(found[:6]) + (", ..." if len(found) > 6 else "") or "nothing"
            raise Refusal(f"{path}: no BM_{s}/<partitions> results (found: {shown}); "
                          "run decide_bench without a --benchmark_filter that leaves them out")
        if len(points) < 2:
            (n,) = points
            raise Refusal(f"{path}: BM_{s} has one partition count ({n}); "
                          "a plot needs at least two")
        out[s] = dict(sorted(points.items()))
    return out


def number(v):
    """A figure as benchmarks.md writes one: three significant digits (1.80, 0.0108), whole
    numbers from 100 on, thousands with commas."""
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:#.3g}"


def ratio(r):
    return f"{r:.0f}x" if r >= 10 else f"{r:.1f}x"


def decade(k):
    return f"{10 ** k:,}" if k >= 0 else f"{10.0 ** k:.{-k}f}"


class Axis:
    """A log10 axis from the data's range, padded, onto the pixels [p0, p1]."""

    def __init__(self, values, pad, p0, p1):
        self.lo = math.log10(min(values)) - pad
        self.hi = math.log10(max(values)) + pad
        self.p0, self.p1 = p0, p1

    def __call__(self, v):
        return self.p0 + (math.log10(v) - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0)

    def ticks(self):
        """(value, label or None) for each decade and each 2..9 between; the 2s and 5s are
        labelled too when fewer than two decades fall in range."""
        majors = list(range(math.ceil(self.lo), math.floor(self.hi) + 1))
        out = []
        for k in range(math.floor(self.lo), math.ceil(self.hi) + 1):
            for m in range(1, 10):
                v = m * 10.0 ** k
                if not self.lo <= math.log10(v) <= self.hi:
                    continue
                if m == 1:
                    out.append((v, decade(k)))
                elif m in (2, 5) and len(majors) < 2:
                    out.append((v, f"{v:,g}"))
                else:
                    out.append((v, None))
        return out


def line(x1, y1, x2, y2, stroke, more=""):
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{stroke}"{more}/>')


def title_of(doc, time):
    c = doc.get("context") if isinstance(doc.get("context"), dict) else {}
    facts = [("CPU" if time == "cpu" else "real") + " time per decision"]
    if c.get("date"):
        facts.append(str(c["date"]).replace("T", " "))
    if c.get("commit"):
        facts.append(f"commit {c['commit']}")
    if c.get("host_name"):
        cpus = f", {c['num_cpus']} CPUs" if c.get("num_cpus") else ""
        facts.append(f"host {c['host_name']}{cpus}")
    if isinstance(c.get("load_avg"), list) and c["load_avg"]:
        facts.append("load average " + " ".join(f"{float(x):.2f}" for x in c["load_avg"][:3]))
    return "decide_bench: Decide and Baseline by partition count", ", ".join(facts)


def svg(doc, path, time, data):
    xs = Axis([n for s in SERIES for n in data[s]], X_PAD, LEFT, RIGHT)
    ys = Axis([v for s in SERIES for v in data[s].values()], Y_PAD, BOTTOM, TOP)
    title, subtitle = title_of(doc, time)
    o = []
    add = o.append
    add('<?xml version="1.0" encoding="UTF-8"?>')
    add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" '
        'font-size="12">')
    add(f"<title>{escape(title)}</title>")
    add(f"<desc>{escape(subtitle)}; from {escape(os.path.basename(path))}</desc>")
    add(f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>')
    add(f'<text x="{WIDTH / 2}" y="26" text-anchor="middle" font-size="16" '
        f'font-weight="bold">{escape(title)}</text>')
    add(f'<text x="{WIDTH / 2}" y="46" text-anchor="middle" font-size="11" '
        f'fill="#444444">{escape(subtitle)}</text>')

    # Grid, ticks and their labels: decades darker, labelled and with longer ticks.
    add('<g id="grid" stroke-width="1">')
    for v, label in xs.ticks():
        x, tick, grid = xs(v), 6 if label else 3, "#d0d0d0" if label else "#eeeeee"
        add(line(x, TOP, x, BOTTOM, grid) + line(x, BOTTOM, x, BOTTOM + tick, "#000000"))
        if label:
            add(f'<text x="{x:.1f}" y="{BOTTOM + 20}" text-anchor="middle">{label}</text>')
    for v, label in ys.ticks():
        y, tick, grid = ys(v), 6 if label else 3, "#d0d0d0" if label else "#eeeeee"
        add(line(LEFT, y, RIGHT, y, grid) + line(LEFT - tick, y, LEFT, y, "#000000"))
        if label:
            add(f'<text x="{LEFT - 10}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    add("</g>")
    add(f'<rect x="{LEFT}" y="{TOP}" width="{RIGHT - LEFT}" height="{BOTTOM - TOP}" '
        'fill="none" stroke="#000000"/>')
    add(f'<text x="{(LEFT + RIGHT) / 2}" y="{BOTTOM + 44}" text-anchor="middle" font-size="13">'
        "partitions (log scale)</text>")
    add(f'<text transform="translate(22 {(TOP + BOTTOM) / 2}) rotate(-90)" text-anchor="middle" '
        'font-size="13">µs per decision (log scale)</text>')

    # Decide / Baseline at each partition count both have: a dashed line between the two points,
    # the ratio to its right.
    add('<g id="ratios" font-size="12" font-weight="bold" fill="#333333">')
    for n in sorted(set(data["Decide"]) & set(data["Baseline"])):
        d, b = data["Decide"][n], data["Baseline"][n]
        x, yd, yb = xs(n), ys(d), ys(b)
        add(line(x, yd, x, yb, "#999999", ' stroke-dasharray="3 3"'))
        add(f'<text class="ratio" data-partitions="{n}" x="{x + 7:.1f}" '
            f'y="{(yd + yb) / 2 + 4:.1f}">{ratio(d / b)}</text>')
    add("</g>")

    # The series: a line through the points, each point with its figure (Decide's above and to
    # the left, Baseline's below and to the right, away from the lines that leave them).
    for s in SERIES:
        colour, marker = STYLE[s]["colour"], STYLE[s]["marker"]
        points = [(xs(n), ys(v), n, v) for n, v in data[s].items()]
        add(f'<g id="{s.lower()}" fill="{colour}" stroke="{colour}">')
        add('<polyline fill="none" stroke-width="2" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points) + '"/>')
        for x, y, n, v in points:
            attrs = f'class="point" data-partitions="{n}" data-us="{v:.6g}"'
            if marker == "circle":
                add(f'<circle {attrs} cx="{x:.1f}" cy="{y:.1f}" r="4.5"/>')
            else:
                add(f'<rect {attrs} x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8"/>')
            if s == "Decide":
                add(f'<text x="{x - 7:.1f}" y="{y - 8:.1f}" text-anchor="end" stroke="none" '
                    f'font-size="11">{number(v)}</text>')
            else:
                add(f'<text x="{x + 7:.1f}" y="{y + 16:.1f}" stroke="none" '
                    f'font-size="11">{number(v)}</text>')
        add("</g>")

    # Legend, top left, where the rising series leave room.
    lx, ly = LEFT + 14, TOP + 12
    add(f'<g id="legend"><rect x="{lx - 6}" y="{ly - 4}" width="262" height="70" '
        'fill="#ffffff" fill-opacity="0.9" stroke="#bbbbbb"/>')
    for i, s in enumerate(SERIES):
        colour, y = STYLE[s]["colour"], ly + 12 + i * 20
        add(line(lx, y, lx + 28, y, colour, ' stroke-width="2"'))
        if STYLE[s]["marker"] == "circle":
            add(f'<circle cx="{lx + 14}" cy="{y}" r="4.5" fill="{colour}"/>')
        else:
            add(f'<rect x="{lx + 10}" y="{y - 4}" width="8" height="8" fill="{colour}"/>')
        what = "a full placement decision" if s == "Decide" else "energy figure only"
        add(f'<text x="{lx + 36}" y="{y + 4}">{s} ({what})</text>')
    add(f'<text x="{lx + 2}" y="{ly + 56}" font-weight="bold" fill="#333333">Nx</text>'
        f'<text x="{lx + 36}" y="{ly + 56}">Decide / Baseline at that count</text></g>')
    add("</svg>")
    return "\n".join(o) + "\n"


def main(argv):
    p = argparse.ArgumentParser(
        prog="plot-decide.py",
        description="decide_bench's JSON (Google Benchmark) as an SVG plot: µs per decision "
        "against partitions, Decide and Baseline, log-log.")
    p.add_argument("results", help="decide_bench's JSON output")
    p.add_argument("-o", "--output", help="the SVG to write (default: RESULTS with .svg)")
    p.add_argument("--time", choices=("cpu", "real"), default="cpu",
                   help="which time to plot (default: cpu)")
    a = p.parse_args(argv)
    output = a.output or (re.sub(r"\.json$", "", a.results) + ".svg")
    try:
        doc = load(a.results)
        text = svg(doc, a.results, a.time, series_of(doc, a.results, a.time))
    except Refusal as e:
        print(f"plot-decide: {e}", file=sys.stderr)
        return 2
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        print(f"plot-decide: {output}: cannot write it ({e.strerror})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
