#!/usr/bin/env python3
"""Build the analysis notebooks in notebooks-export/ from fresh gpumm runs.

The notebooks are exported as Markdown with SVG figures, made with Python's standard library
only, so they need nothing beyond gpumm and python3. They run the bundled base scenario, the
case studies, the tornado and Sobol studies and a diff of the grid-delay case, then write:

  market-diagnosis.md          the notebook: each figure with what it shows, numbers read from
                               the runs
  balance.svg                  base: relative balance, its structural trend and the regimes
  h100-spot.svg                base: spot price by generation against the H100 rental history
  meta-episode.svg             meta-sells-compute: Meta's spare capacity and its causes
  cases.svg                    the structural trend of the base and of each case study
  tornado.svg                  which assumptions move the months in structural shortage
  tornado-realtime.svg         which move the months of it that the trend read in real time missed
  sobol-periods.svg            which assumption decides the balance, period by period
  grid-delay-waterfall.svg     grid-delay against the base, one change at a time (gpumm diff)
  deals.svg                    base: what the announced deals deliver as their ramps put them in force

Usage:
  tools/notebooks/make_notebooks.py --gpumm build/tools/gpumm --out notebooks-export
  tools/notebooks/make_notebooks.py --gpumm build/tools/gpumm --check notebooks-export

--check builds into a temporary folder and compares with the given one: it fails (exit 1)
when a figure or the notebook differs, that is when the committed export no longer matches
the model. Runs are deterministic, so an up-to-date export compares equal byte for byte.
"""
import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# H100 rental history (calibration notes, "H100 rental price"; SemiAnalysis via neighborhoodsf
# and techreaderdaily; compux): (year as a number, $ per hour, what it is)
H100_HISTORY = [
    (2023.5, 8.0, "2023 peak, $8+"),
    (2024.75, 2.99, "Oct 2024 on-demand"),
    (2025.75, 1.70, "Oct 2025 one-year contract trough"),
    (2026.17, 2.35, "Mar 2026"),
    (2026.42, 2.65, "Jun 2026 contract"),
]

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]
REGIME_FILL = {"structural_shortage": "#f4cccc", "balanced": "#ffffff", "oversupply": "#cfe2f3"}
# the same regimes in a strip along the plot's top: stronger, as the strip is thin
REGIME_STRIP = {"structural_shortage": "#d62728", "balanced": "#ffffff", "oversupply": "#1f77b4"}


# ---- reading gpumm's CSV ---------------------------------------------------------------------
def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def year_of(date):
    """2026-07-01 -> 2026.5"""
    y, m = int(date[0:4]), int(date[5:7])
    return y + (m - 1) / 12.0


def num(text):
    return float(text) if text not in ("", None) else 0.0


def run(cmd):
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("make_notebooks: `%s` failed (%d):\n%s" % (" ".join(cmd), r.returncode, r.stderr))


# ---- a small SVG chart -----------------------------------------------------------------------
def fmt(x):
    return ("%.2f" % x).rstrip("0").rstrip(".")


def h100e(x):
    """H100e as text: 368k, 10.58M."""
    return "%.0fk" % (x / 1e3) if abs(x) < 1e6 else "%.2fM" % (x / 1e6)


def revision_words(zone, trend_of):
    """Whether the last two years' regimes hold against their trend's revision (as verdict.txt has it)."""
    margin = [abs(trend_of(r) + 0.05) - num(r["trend_revision_frac"]) for r in zone]
    if min(margin) > 0:
        return ("In each of those months the trend is further than that below -5%% (by %.1f points at least), so the "
                "regime holds against moves as large as the run's past ones; a turn after 2032 could still move it."
                % (100 * min(margin)))
    return ("In %d of those months the trend is within that of -5%%: their regime may change with a longer horizon."
            % sum(m <= 0 for m in margin))


class Chart:
    """A line chart: x in years, y as given; series, markers, shaded spans, reference lines."""

    W, H, L, R, T, B = 760, 400, 70, 20, 40, 80

    def __init__(self, title, ylabel, x0, x1, y0, y1, steps=5):
        self.title, self.ylabel, self.steps = title, ylabel, steps
        self.x0, self.x1, self.y0, self.y1 = x0, x1, y0, y1
        self.back, self.front, self.legend = [], [], []

    def X(self, x):
        return self.L + (x - self.x0) / (self.x1 - self.x0) * (self.W - self.L - self.R)

    def Y(self, y):
        y = min(max(y, self.y0), self.y1)
        return self.H - self.B - (y - self.y0) / (self.y1 - self.y0) * (self.H - self.T - self.B)

    def span(self, a, b, fill):
        self.back.append('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>' % (
            fmt(self.X(a)), fmt(self.T), fmt(self.X(b) - self.X(a)), fmt(self.H - self.T - self.B), fill))

    def strip(self, a, b, fill, label):
        """A thin band along the top of the plot from x = a to b (a reading's regime), labelled at its left."""
        self.front.append('<rect class="strip" data-label="%s" x="%s" y="%s" width="%s" height="8" fill="%s"/>' % (
            label, fmt(self.X(a)), fmt(self.T + 2), fmt(self.X(b) - self.X(a)), fill))

    def hline(self, y, label, colour="#888888"):
        self.back.append('<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-dasharray="4 3"/>' % (
            fmt(self.L), fmt(self.W - self.R), fmt(self.Y(y)), fmt(self.Y(y)), colour))
        self.back.append('<text x="%s" y="%s" font-size="10" fill="%s" text-anchor="end">%s</text>' % (
            fmt(self.W - self.R - 2), fmt(self.Y(y) - 3), colour, label))

    def line(self, xs, ys, label, colour, width=1.6, dash=""):
        pts = " ".join("%s,%s" % (fmt(self.X(x)), fmt(self.Y(y))) for x, y in zip(xs, ys))
        extra = ' stroke-dasharray="%s"' % dash if dash else ""
        self.front.append('<polyline class="series" data-label="%s" fill="none" stroke="%s" stroke-width="%s"%s points="%s"/>'
                          % (label, colour, width, extra, pts))
        self.legend.append((label, colour, "line"))

    def band(self, xs, lows, highs, label, colour, opacity=0.25):
        """A shaded band between two series (drawn under the lines added after it)."""
        pts = ["%s,%s" % (fmt(self.X(x)), fmt(self.Y(y))) for x, y in zip(xs, highs)]
        pts += ["%s,%s" % (fmt(self.X(x)), fmt(self.Y(y))) for x, y in reversed(list(zip(xs, lows)))]
        self.front.append('<polygon class="band" data-label="%s" fill="%s" fill-opacity="%s" stroke="none" points="%s"/>'
                          % (label, colour, opacity, " ".join(pts)))
        self.legend.append((label, colour, "box:%s" % opacity))

    def markers(self, xs, ys, label, colour):
        for x, y in zip(xs, ys):
            self.front.append('<circle class="marker" data-label="%s" cx="%s" cy="%s" r="4" fill="%s"/>'
                              % (label, fmt(self.X(x)), fmt(self.Y(y)), colour))
        self.legend.append((label, colour, "dot"))

    def svg(self):
        out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">' % (self.W, self.H),
               '<rect width="100%" height="100%" fill="white"/>',
               '<text x="%s" y="22" font-size="15" font-weight="bold">%s</text>' % (fmt(self.L), self.title)]
        out += self.back
        # axes, year ticks, value ticks
        bottom, top = self.H - self.B, self.T
        out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (self.L, self.W - self.R, bottom, bottom))
        out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (self.L, self.L, top, bottom))
        for year in range(int(self.x0), int(self.x1) + 1):
            if year < self.x0:
                continue
            x = self.X(year)
            out.append('<line x1="%s" x2="%s" y1="%d" y2="%d" stroke="black"/>' % (fmt(x), fmt(x), bottom, bottom + 4))
            out.append('<text x="%s" y="%d" font-size="11" text-anchor="middle">%d</text>' % (fmt(x), bottom + 17, year))
        for k in range(self.steps + 1):
            v = self.y0 + (self.y1 - self.y0) * k / self.steps
            y = self.Y(v)
            out.append('<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="#dddddd"/>' % (self.L, self.W - self.R, fmt(y), fmt(y)))
            out.append('<text x="%d" y="%s" font-size="11" text-anchor="end">%s</text>' % (self.L - 5, fmt(y + 4), fmt(v)))
        out.append('<text x="16" y="%s" font-size="12" transform="rotate(-90 16 %s)" text-anchor="middle">%s</text>'
                   % (fmt((top + bottom) / 2), fmt((top + bottom) / 2), self.ylabel))
        out += self.front
        # legend below the plot, on as many lines as it needs
        x, y = self.L, self.H - self.B + 42
        for label, colour, kind in self.legend:
            if x + 30 + 6 * len(label) > self.W and x > self.L:
                x, y = self.L, y + 16
            if kind == "line":
                out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"/>' % (x, x + 18, y - 4, y - 4, colour))
            elif kind.startswith("box:"):
                out.append('<rect x="%d" y="%d" width="18" height="10" fill="%s" fill-opacity="%s"/>' % (x, y - 9, colour, kind[4:]))
            else:
                out.append('<circle cx="%d" cy="%d" r="4" fill="%s"/>' % (x + 9, y - 4, colour))
            out.append('<text x="%d" y="%d" font-size="11">%s</text>' % (x + 22, y, label))
            x += 30 + 6 * len(label)
        out.append("</svg>")
        return "\n".join(out) + "\n"


def bars(title, rows):
    """Horizontal bars: rows of (label, low value, base, high value, low text, high text)."""
    W, L, R, row_h, T = 760, 330, 80, 26, 40
    H = T + row_h * len(rows) + 40
    lo = min(min(a, b, c) for _, a, b, c, _, _ in rows)
    hi = max(max(a, b, c) for _, a, b, c, _, _ in rows)
    span = (hi - lo) or 1.0
    X = lambda v: L + (v - lo) / span * (W - L - R)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="22" font-size="15" font-weight="bold">%s</text>' % title]
    base = rows[0][2]
    for k, (label, a, b, c, ta, tc) in enumerate(rows):
        y = T + k * row_h
        for v, colour, text in ((a, "#1f77b4", ta), (c, "#d62728", tc)):
            x0, x1 = sorted((X(b), X(v)))
            out.append('<rect class="bar" data-label="%s" x="%s" y="%d" width="%s" height="%d" fill="%s"/>'
                       % (label, fmt(x0), y + 4, fmt(max(x1 - x0, 1)), row_h - 8, colour))
            out.append('<text x="%s" y="%d" font-size="10" text-anchor="%s">%s</text>'
                       % (fmt(X(v) + (4 if v >= b else -4)), y + row_h - 9, "start" if v >= b else "end", text))
        out.append('<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>' % (L - 40, y + row_h - 9, label))
    out.append('<line x1="%s" x2="%s" y1="%d" y2="%d" stroke="black"/>' % (fmt(X(base)), fmt(X(base)), T, T + row_h * len(rows)))
    out.append('<text x="%s" y="%d" font-size="11" text-anchor="middle">base %s</text>' % (fmt(X(base)), T + row_h * len(rows) + 16, fmt(base)))
    out.append('<text x="10" y="%d" font-size="11">blue: the parameter at its low value; red: at its high value</text>' % (H - 6))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def waterfall(title, start_label, end_label, steps):
    """Horizontal waterfall: steps of (label, before, after, alone effect or None), from the
    start value to the end value; a tick marks where the step's change alone would take the start."""
    W, L, R, row_h, T = 760, 300, 90, 22, 40
    start, end = steps[0][1], steps[-1][2]
    rows = [(start_label, start, start, None)] + steps + [(end_label, end, end, None)]
    H = T + row_h * len(rows) + 40
    values = [v for _, a, b, alone in rows for v in (a, b)] + [start + a for _, _, _, a in steps if a is not None]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    X = lambda v: L + (v - lo) / span * (W - L - R)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="22" font-size="15" font-weight="bold">%s</text>' % title]
    for k, (label, a, b, alone) in enumerate(rows):
        y = T + k * row_h
        ends = k == 0 or k == len(rows) - 1
        x0, x1 = (X(a) - 2, X(a) + 2) if ends else sorted((X(a), X(b)))  # the ends: a mark at their value
        colour = "#000000" if ends else ("#2ca02c" if b >= a else "#d62728")
        out.append('<rect class="step" data-label="%s" x="%s" y="%d" width="%s" height="%d" fill="%s"/>'
                   % (label, fmt(min(x0, x1)), y + 4, fmt(max(abs(x1 - x0), 1)), row_h - 8, colour))
        if alone is not None:
            xa = X(start + alone)
            out.append('<line x1="%s" x2="%s" y1="%d" y2="%d" stroke="black" stroke-width="2"/>' % (fmt(xa), fmt(xa), y + 2, y + row_h - 2))
        out.append('<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>' % (L - 8, y + row_h - 8, label))
        out.append('<text x="%d" y="%d" font-size="10">%s</text>'
                   % (W - R + 6, y + row_h - 8, ("%.3f" % a) if ends else ("%+.3g" % (b - a))))
    out.append('<text x="10" y="%d" font-size="11">bars: each change added to those above it (green up, red down); '
               'tick: where the change alone takes the start</text>' % (H - 6))
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---- the notebook ----------------------------------------------------------------------------
def regime_runs(rows, column="regime"):
    runs, start = [], 0
    for k in range(1, len(rows) + 1):
        if k == len(rows) or rows[k][column] != rows[start][column]:
            runs.append((rows[start]["date"], rows[k - 1]["date"], rows[start][column], k - start))
            start = k
    return runs


def build(gpumm, out):
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gpumm-notebooks-") as tmp:
        runs = {}
        for name, scenario in [("base", "inputs/base.yaml"), ("meta", "inputs/cases/meta-sells-compute.yaml"),
                               ("glut", "inputs/cases/glut.yaml"), ("grid-delay", "inputs/cases/grid-delay.yaml"),
                               ("generation-switch", "inputs/cases/generation-switch.yaml"),
                               ("growth-halves", "inputs/cases/growth-halves.yaml")]:
            runs[name] = os.path.join(tmp, name)
            run([gpumm, "run", scenario, "-q", "-o", runs[name]])
        tornado = os.path.join(tmp, "tornado")
        run([gpumm, "study", "inputs/studies/tornado.yaml", "-q", "--threads", "2", "-o", tornado])
        sobol = os.path.join(tmp, "sobol")
        run([gpumm, "study", "inputs/studies/sobol.yaml", "-q", "--threads", "2", "-o", sobol])
        mc = os.path.join(tmp, "monte_carlo")
        run([gpumm, "study", "inputs/studies/monte_carlo.yaml", "-q", "--threads", "2", "-o", mc])
        diff = os.path.join(tmp, "diff")
        run([gpumm, "diff", "inputs/base.yaml", "inputs/cases/grid-delay.yaml", "-q", "-o", diff,
             "--metric", "mean_relative_balance_frac", "--metric", "periods_in_structural_shortage"])
        md = notebook(runs, tornado, sobol, diff, mc, out)
    with open(os.path.join(out, "market-diagnosis.md"), "w") as f:
        f.write(md)


def notebook(runs, tornado, sobol, diff, mc, out):
    def save(name, text):
        with open(os.path.join(out, name), "w") as f:
            f.write(text)

    md = ["# Market diagnosis: is spare compute oversupply? (exported notebook)", "",
          "Made by `tools/notebooks/make_notebooks.py` from fresh runs of the bundled scenarios",
          "(`inputs/base.yaml`, `inputs/cases/`) and the tornado, Sobol and Monte Carlo example studies (`inputs/studies/`);",
          "every number below is read from those runs' CSV files. Regenerate after a model change",
          "(the test suite checks that this export matches the model).", ""]

    # 1. the base market: balance, trend, regimes
    s = read_csv(os.path.join(runs["base"], "summary.csv"))
    xs = [year_of(r["date"]) for r in s]
    c = Chart("Base scenario: relative balance of the market and its structural trend", "relative balance (idle - unserved) / demand",
              xs[0], xs[-1] + 1 / 12, -0.6, 0.2, 8)
    for a, b, regime, n in regime_runs(s):
        c.span(year_of(a), year_of(b) + 1 / 12, REGIME_FILL[regime])
    c.hline(-0.05, "shortage threshold -5%", "#cc0000")
    c.hline(0.05, "oversupply threshold +5%", "#3366cc")
    # the last two years' trend may yet move: as far as it moved in the run at that distance
    # from a cut-off end (summary.csv's trend_revision_frac)
    zone = [r for r in s if r["trend_revision_frac"] != ""]
    trend_of = lambda r: num(r["trend_relative_balance_frac"])
    c.band([year_of(r["date"]) for r in zone], [trend_of(r) - num(r["trend_revision_frac"]) for r in zone],
           [trend_of(r) + num(r["trend_revision_frac"]) for r in zone], "trend +/- its revision (last two years)", COLOURS[1])
    c.line(xs, [num(r["relative_balance_frac"]) for r in s], "relative balance", COLOURS[0], 1.2)
    c.line(xs, [trend_of(r) for r in s], "structural trend (Hodrick-Prescott)", COLOURS[1], 2.4)
    c.line(xs, [num(r["trend_realtime_frac"]) for r in s], "trend read in real time", COLOURS[2], 1.6)
    # the regime read in real time, along the top
    for a, b, regime, n in regime_runs(s, "regime_realtime"):
        c.strip(year_of(a), year_of(b) + 1 / 12, REGIME_STRIP[regime], "regime read in real time: " + regime)
    save("balance.svg", c.svg())
    counts = {}
    for r in s:
        counts[r["regime"]] = counts.get(r["regime"], 0) + 1
    md += ["## 1. The base market: structural shortage, then a tight balance", "", "![balance](balance.svg)", "",
           "Shaded red: months in `structural_shortage`, blue: `oversupply`, white: `balanced`; the strip along the "
           "top gives the regime read in real time (red: `structural_shortage`). "
           "Of %d months, %d are in structural shortage, %d balanced and %d in oversupply. Regimes:"
           % (len(s), counts.get("structural_shortage", 0), counts.get("balanced", 0), counts.get("oversupply", 0)), ""]
    for a, b, regime, n in regime_runs(s):
        md.append("- %s to %s: `%s` (%d months)" % (a[:7], b[:7], regime, n))
    july = next(r for r in s if r["date"].startswith("2030-07"))
    # the last structural shortage after the fact, and the first month in it called one in real time
    last_short = s[max(k for k, r in enumerate(s) if r["regime"] == "structural_shortage" and
                       (k == 0 or s[k - 1]["regime"] != "structural_shortage"))]
    seen = next(r for r in s[s.index(last_short):] if r["regime_realtime"] == "structural_shortage")
    differ = sum(r["regime"] != r["regime_realtime"] for r in s)
    md += ["", "The monthly balance dips well below its trend in 2026 (chips waiting for power): the filter calls "
           "that part temporary, because capacity catches up in 2027-2029.", "",
           "The trend read in real time (each month's from the months up to it only, as an analyst would have "
           "measured it then) lags the trend after the fact: in July 2030 it reads %+.1f%% of demand (`%s`) where "
           "the market is, after the fact, at %+.1f%% (`%s`); the two regimes differ in %d of %d months. The surplus "
           "of 2028-2030 looked lasting at the time; the months after it show a market short again: the structural "
           "shortage that began in %s was first called in real time in %s, %d months later (a regime read in real time "
           "needs the trend, as read that month, below -5%% in each of its last six months, not in months still to come)."
           % (100 * num(july["trend_realtime_frac"]), july["regime_realtime"], 100 * trend_of(july), july["regime"],
              differ, len(s), last_short["date"][:7], seen["date"][:7], s.index(seen) - s.index(last_short)), "",
           "The trend is two-sided, so that of the last two years (%s to %s) is provisional: it moves when the horizon "
           "is extended. The band around it is as far as the run's own trend moved at that distance from a cut-off end "
           "when two more years came after it: %.1f%% of demand 23 months before the end, %.1f%% at the end. %s"
           % (zone[0]["date"][:7], zone[-1]["date"][:7], 100 * num(zone[0]["trend_revision_frac"]),
              100 * num(zone[-1]["trend_revision_frac"]), revision_words(zone, trend_of)), ""]

    # 2. prices
    m = read_csv(os.path.join(runs["base"], "market.csv"))
    spot = {}
    for r in m:
        spot.setdefault(r["generation"], {})[r["date"]] = num(r["spot_usd_per_h100e_hour"])
    c = Chart("Base scenario: spot price by generation against the H100 rental history", "$ per H100e-hour",
              2023, 2033, 0, 12, 6)
    for k, g in enumerate(["h100", "b200", "rubin", "all"]):
        if g in spot:
            d = sorted(spot[g].items())
            c.line([year_of(a) for a, _ in d], [v for _, v in d], "index" if g == "all" else g, COLOURS[k],
                   2.4 if g == "h100" else 1.4, "5 3" if g == "all" else "")
    c.markers([x for x, _, _ in H100_HISTORY], [y for _, y, _ in H100_HISTORY], "H100 rental history", "black")
    save("h100-spot.svg", c.svg())
    h = spot.get("h100", {})
    md += ["## 2. Prices: the H100 spot against its history", "", "![h100 spot](h100-spot.svg)", "",
           "Each generation's spot moves with the share of its offered capacity that finds a buyer. The base's "
           "H100 spot against the rental history (calibration notes):", "",
           "| month | gpumm H100 ($/h) | history |", "|---|---|---|"]
    for month, (_, y, what) in zip(["2023-07", "2024-10", "2025-10", "2026-03", "2026-06"], H100_HISTORY):
        md.append("| %s | %.2f | %.2f (%s) |" % (month, h.get(month + "-01", 0.0), y, what))
    index = sorted(spot.get("all", {}).items())
    low_from = None
    for k, (date, v) in enumerate(index):
        if all(x < 1.0 for _, x in index[k:]):
            low_from = date
            break
    regime_then = {r["date"]: r["regime"] for r in s}
    if low_from:
        short = sum(1 for d, _ in index if d >= low_from and regime_then.get(d) == "structural_shortage")
        md += ["", "From %s the index stays below $1 per H100e-hour, near the generations' operating cost, while the "
               "market is in structural shortage in %d of those %d months: what is offered (idle cloud capacity) "
               "is not what is missing (clusters large enough for frontier runs, capacity in other latency groups)."
               % (low_from[:7], short, sum(1 for d, _ in index if d >= low_from)), ""]
    else:
        md.append("")

    # 3. the motivating story
    f = [r for r in read_csv(os.path.join(runs["meta"], "firms.csv")) if r["firm"] == "meta" and "2025-07" <= r["date"][:7] <= "2027-06"]
    xs = [year_of(r["date"]) for r in f]
    top = max(num(r["spare_h100e"]) for r in f) / 1e6
    c = Chart("meta-sells-compute: Meta's spare capacity and what caused it", "million H100e", xs[0], xs[-1] + 1 / 12, 0, max(0.1, top * 1.15))
    eps = [e for e in read_csv(os.path.join(runs["meta"], "episodes.csv")) if e["firm"] == "meta"]
    shown = [e for e in eps if e["start"][:7] <= "2027-06" and e["end"][:7] >= "2025-07"]
    for e in shown:
        c.span(max(xs[0], year_of(e["start"])), min(xs[-1] + 1 / 12, year_of(e["end"]) + 1 / 12), "#fff2cc")
    for k, (col, label) in enumerate([("spare_h100e", "spare (idle + sold)"), ("spare_slipped_project_h100e", "from the slipped project"),
                                      ("spare_sold_to_short_firms_h100e", "sold to firms short of capacity"),
                                      ("spare_region_mismatch_h100e", "in the wrong region"), ("spare_take_or_pay_h100e", "take-or-pay excess")]):
        c.line(xs, [num(r[col]) / 1e6 for r in f], label, COLOURS[k], 2.2 if k == 0 else 1.4)
    save("meta-episode.svg", c.svg())
    summ = {r["date"][:7]: r for r in read_csv(os.path.join(runs["meta"], "summary.csv"))}
    md += ["## 3. Meta sells compute: a temporary surplus, not oversupply", "", "![meta](meta-episode.svg)", "",
           "Shaded: Meta's surplus episodes (`episodes.csv`). In the case, Meta's frontier program slips two quarters "
           "while its take-or-pay contracts run. Meta's episodes that overlap mid-2025 to mid-2027:", ""]
    for e in shown:
        md.append("- %s to %s: peak %s H100e, main cause `%s` (slipped project %.0f%%), market in structural shortage "
                  "%.0f%% of the time" % (e["start"][:7], e["end"][:7], h100e(num(e["peak_surplus_h100e"])), e["main_cause"],
                                          100 * num(e["slipped_training_project_share"]), 100 * num(e["structural_shortage_share"])))
    oct_ = summ.get("2026-10")
    if oct_:
        md += ["", "In October 2026 the market's regime is `%s` with a structural trend of %.1f%% of demand: Meta's "
               "spare capacity then is a local, temporary mismatch (`gpumm explain inputs/cases/meta-sells-compute.yaml "
               "--firm meta --date 2026-10`)." % (oct_["regime"], 100 * num(oct_["trend_relative_balance_frac"]))]
    md.append("")

    # 4. the cases side by side
    c = Chart("Structural trend of the relative balance: base and cases (axis cut at +1.2)",
              "trend of (idle - unserved) / demand", 2023, 2033, -0.8, 1.2, 5)
    c.hline(-0.05, "-5%", "#cc0000")
    c.hline(0.05, "+5%", "#3366cc")
    md += ["## 4. The case studies side by side", "", "![cases](cases.svg)", "", "| scenario | structural shortage | balanced | oversupply |",
           "|---|---|---|---|"]
    for k, name in enumerate(["base", "meta", "glut", "grid-delay", "generation-switch", "growth-halves"]):
        rows = read_csv(os.path.join(runs[name], "summary.csv"))
        c.line([year_of(r["date"]) for r in rows], [num(r["trend_relative_balance_frac"]) for r in rows],
               "meta-sells-compute" if name == "meta" else name, COLOURS[k])
        n = {}
        for r in rows:
            n[r["regime"]] = n.get(r["regime"], 0) + 1
        md.append("| %s | %d | %d | %d |" % ("meta-sells-compute" if name == "meta" else name, n.get("structural_shortage", 0),
                                             n.get("balanced", 0), n.get("oversupply", 0)))
    save("cases.svg", c.svg())
    md += ["", "Months in each regime. The glut (inference growth stalls while capex goes on) and the generation "
           "switch built on it reach oversupply, and so does demand that keeps growing at half the base's pace from "
           "2028 (growth-halves): the buildout committed for the base's demand is then too large from late 2029. A "
           "grid delay makes the shortage deeper and longer.", ""]

    # 5. tornado
    t = [r for r in read_csv(os.path.join(tornado, "tornado.csv")) if r["output"] == "periods_in_structural_shortage"]
    rows = [(r["parameter"], num(r["at_low"]), num(r["at_base"]), num(r["at_high"]), "%s: %s" % (r["low"], fmt(num(r["at_low"]))),
             "%s: %s" % (r["high"], fmt(num(r["at_high"])))) for r in t]
    save("tornado.svg", bars("Months in structural shortage (of 120): one assumption at a time", rows))
    md += ["## 5. Which assumptions decide the verdict?", "", "![tornado](tornado.svg)", "",
           "Each bar moves one parameter of `inputs/studies/tornado.yaml` to its low (blue) or high (red) value, "
           "the others at the base; sorted by swing. The largest: `%s` (%s to %s months)." % (t[0]["parameter"], fmt(num(t[0]["at_low"])), fmt(num(t[0]["at_high"]))), ""]
    # the same study: the months of that shortage an analyst reading the trend as it came would
    # not have called one (summary.csv's regime_realtime against regime)
    m = [r for r in read_csv(os.path.join(tornado, "tornado.csv")) if r["output"] == "periods_shortage_missed_in_real_time"]
    rows = [(r["parameter"], num(r["at_low"]), num(r["at_base"]), num(r["at_high"]), "%s: %s" % (r["low"], fmt(num(r["at_low"]))),
             "%s: %s" % (r["high"], fmt(num(r["at_high"])))) for r in m]
    save("tornado-realtime.svg", bars("Months of structural shortage not called one in real time", rows))
    higher = [r["parameter"] for r in m if max(num(r["at_low"]), num(r["at_high"])) > num(r["at_base"])]
    md += ["![tornado-realtime](tornado-realtime.svg)", "",
           "The same runs, counting the months of structural shortage that the trend read in real time (from the "
           "months up to each only) did not call one: %s in the base. The largest swing: `%s` (%s at its low value, "
           "%s at its high). Below the base, the shortage is seen sooner as it happens (an earlier, deeper one); "
           "above it, more of it passes for balance until later months show it. %d of the %d assumptions raise the "
           "count at one end at least." % (fmt(num(m[0]["at_base"])), m[0]["parameter"], fmt(num(m[0]["at_low"])),
                                                      fmt(num(m[0]["at_high"])), len(higher), len(m)), ""]

    # 6. Sobol indices per period
    rows = [r for r in read_csv(os.path.join(sobol, "sobol_periods.csv")) if r["series"] == "relative_balance_frac"]
    params = []
    for r in rows:
        if r["parameter"] not in params:
            params.append(r["parameter"])
    c = Chart("Share of the balance's variance each assumption explains (total Sobol index)",
              "total-order index", 2023, 2033, 0, 1, 5)
    leaders = {}
    for k, p in enumerate(params):
        pts = [(year_of(r["date"]), num(r["total"])) for r in rows if r["parameter"] == p and r["total"] != ""]
        c.line([x for x, _ in pts], [y for _, y in pts], p, COLOURS[k % len(COLOURS)])
        for r in rows:
            if r["parameter"] == p and r["total"] != "" and r["date"][5:7] == "12":
                year = r["date"][:4]
                if num(r["total"]) > leaders.get(year, ("", -1))[1]:
                    leaders[year] = (p, num(r["total"]))
    save("sobol-periods.svg", c.svg())
    md += ["## 6. Which assumption decides the balance, year by year?", "", "![sobol](sobol-periods.svg)", "",
           "Total-order Sobol indices of the monthly relative balance (`sobol_periods.csv` of `inputs/studies/sobol.yaml`, "
           "N = 256, 1,792 runs): the share of its variance each assumption explains with its interactions. "
           "The assumption with the largest index each December:", "", "| December | assumption | total index |", "|---|---|---|"]
    for year in sorted(leaders):
        md.append("| %s | `%s` | %.2f |" % (year, leaders[year][0], leaders[year][1]))
    md.append("")

    # 7. why a case differs from the base: its changes one at a time
    d = read_csv(os.path.join(diff, "diff.csv"))
    steps = [(r["path"], num(r["metric_before"]), num(r["metric_after"]),
              None if r["alone_effect"] == "" else num(r["alone_effect"])) for r in d if r["metric"] == "mean_relative_balance_frac"]
    save("grid-delay-waterfall.svg", waterfall("grid-delay against the base: mean relative balance, one change at a time",
                                               "base", "grid-delay", steps))
    periods = [r for r in d if r["metric"] == "periods_in_structural_shortage"]
    alone_sum = sum(a for _, _, _, a in steps if a is not None)
    total = steps[-1][2] - steps[0][1]
    md += ["## 7. Why the grid-delay case is short: its changes one at a time", "", "![waterfall](grid-delay-waterfall.svg)", "",
           "`gpumm diff inputs/base.yaml inputs/cases/grid-delay.yaml` makes the case's %d changes to the base one at a time, "
           "in the case's order, and runs each alone on the base too. The mean relative balance goes from %.3f to %.3f "
           "(%+.3f); the changes with the largest effects:" % (len(steps), steps[0][1], steps[-1][2], total), "",
           "| change | effect in turn | effect alone |", "|---|---|---|"]
    for path, a, b, alone in sorted(steps, key=lambda x: -abs(x[2] - x[1]))[:5]:
        md.append("| `%s` | %+.4f | %s |" % (path, b - a, "n/a" if alone is None else "%+.4f" % alone))
    moved = ["%+d with `%s` (change %s)" % (round(num(r["step_effect"])), r["path"], r["step"])
             for r in periods if num(r["step_effect"]) != 0]
    md += ["", "The alone effects add up to %+.3f, so the changes together do %+.3f more than each on its own. "
           "Months in structural shortage go from %d to %d: %s; the other changes, made after those, move none, "
           "though %d of them would on the base alone."
           % (alone_sum, total - alone_sum, round(num(periods[0]["metric_before"])), round(num(periods[-1]["metric_after"])),
              ", ".join(moved) or "no change moves them",
              sum(1 for r in periods if num(r["step_effect"]) == 0 and r["alone_effect"] != "" and num(r["alone_effect"]) != 0)), ""]

    # 8. the announced deals: what comes into force, what is delivered, what is paid
    md += deals_section(runs["base"], save)

    # 9. how sure: the spread of the balance over 200 draws of the assumptions
    md += bands_section(runs["base"], mc, save)

    # 10. what the firms' spare capacity is: sold, mismatched or unwanted
    md += spare_section(runs["base"], runs["glut"], mc, save)
    return "\n".join(md)


# The causes of a firm's spare capacity (firms.csv), grouped for the figure.
SPARE_GROUPS = [("sold to firms short of capacity", ["spare_sold_to_short_firms_h100e"]),
                ("idle, out of reach of unserved demand (region, custom chips)",
                 ["spare_region_mismatch_h100e", "spare_custom_accelerator_h100e"]),
                ("weak demand", ["spare_weak_demand_h100e"]),
                ("slipped projects, take-or-pay, generation transition, stranded",
                 ["spare_slipped_project_h100e", "spare_take_or_pay_h100e", "spare_generation_transition_h100e",
                  "spare_stranded_h100e"])]


def spare_by_month(run_dir):
    """month -> {group label: H100e summed over firms}, and month -> total spare H100e."""
    groups, total = {}, {}
    for r in read_csv(os.path.join(run_dir, "firms.csv")):
        g = groups.setdefault(r["date"], {label: 0.0 for label, _ in SPARE_GROUPS})
        for label, cols in SPARE_GROUPS:
            g[label] += sum(num(r[c]) for c in cols)
        total[r["date"]] = total.get(r["date"], 0.0) + num(r["spare_h100e"])
    return groups, total


def spare_section(base, glut, mc, save):
    groups, total = spare_by_month(base)
    dates = sorted(total)
    xs = [year_of(d) for d in dates]
    top = max(total.values()) / 1e6
    c = Chart("Base scenario: the firms' spare capacity (idle or sold) and what it is", "million H100e", xs[0], xs[-1] + 1 / 12,
              0, top * 1.1, 5)
    c.line(xs, [total[d] / 1e6 for d in dates], "spare capacity, all firms", COLOURS[0], 2.2)
    for k, (label, _) in enumerate(SPARE_GROUPS):
        c.line(xs, [groups[d][label] / 1e6 for d in dates], label, COLOURS[k + 1], 1.4)
    save("spare-causes.svg", c.svg())

    def shares(g, t, since):
        months = [d for d in t if d >= since]
        whole = sum(t[d] for d in months)
        return {label: sum(g[d][label] for d in months) / whole for label, _ in SPARE_GROUPS}

    b = shares(groups, total, "2027-01-01")
    whole_base = shares(groups, total, "")[SPARE_GROUPS[0][0]]
    sold = sorted(num(r["spare_share:sold_to_short_firms"]) for r in read_csv(os.path.join(mc, "samples.csv")))
    p5, p95 = sold[int(0.05 * (len(sold) - 1))], sold[int(0.95 * (len(sold) - 1))]
    gg, gt = spare_by_month(glut)
    g = shares(gg, gt, "2027-01-01")
    pct = lambda x: "%.0f%%" % (100 * x)
    label = [l for l, _ in SPARE_GROUPS]
    return ["## 10. What the firms' spare capacity is: sold, out of reach, or unwanted", "", "![spare](spare-causes.svg)",
            "", "Each month a firm's spare capacity (what it has beyond its own needs, idle or sold on the market; "
            "`firms.csv`) is split into its causes. From 2027 to 2032 the base's spare capacity, summed over firms and "
            "months, is %s sold to firms short of capacity, %s idle out of reach of demand left unserved (another region "
            "or latency group, custom accelerators only their owner may use), %s weak demand and %s slipped projects, "
            "take-or-pay excess, generation transitions and stranded clusters: a firm that \"sells excess compute\" "
            "here is the market moving capacity to firms short of it. In the glut case, where demand stalls from 2027, "
            "the same split is %s sold, %s out of reach and %s weak demand: there the surplus is unwanted. "
            "Over the whole horizon the base sells %s of its spare capacity; over the 200 draws of the Monte Carlo "
            "example (section 9; its output `spare_share:sold_to_short_firms`) the share sold lies from %s to %s "
            "(P5 to P95), so the finding does not hang on those assumptions."
            % (pct(b[label[0]]), pct(b[label[1]]), pct(b[label[2]]), pct(b[label[3]]), pct(g[label[0]]),
               pct(g[label[1]]), pct(g[label[2]]), pct(whole_base), pct(p5), pct(p95)), ""]


def bands_section(base, mc, save):
    b = read_csv(os.path.join(mc, "bands.csv"))
    xs = [year_of(r["date"]) for r in b]
    col = lambda name: [num(r[name]) for r in b]
    c = Chart("How sure: the relative balance over 200 draws of five assumptions", "relative balance", 2023, 2033, -1, 0.2, 6)
    c.band(xs, col("relative_balance_frac_p5"), col("relative_balance_frac_p95"), "P5 to P95", COLOURS[0], 0.2)
    c.band(xs, col("relative_balance_frac_p10"), col("relative_balance_frac_p90"), "P10 to P90", COLOURS[0], 0.35)
    c.line(xs, col("relative_balance_frac_p50"), "median", COLOURS[0], 2.2)
    s = read_csv(os.path.join(base, "summary.csv"))
    c.line([year_of(r["date"]) for r in s], [num(r["relative_balance_frac"]) for r in s], "the base scenario", COLOURS[1], 1.4, "5 3")
    c.hline(-0.05, "-5%")
    save("bands.svg", c.svg())
    samples = read_csv(os.path.join(mc, "samples.csv"))
    months = sorted(num(r["periods_in_structural_shortage"]) for r in samples)
    n = len(months)
    half = sum(1 for m in months if m >= 60)
    last = b[-1]
    spot = "$%.2f to $%.2f" % (num(last["spot_usd_per_h100e_hour_p5"]), num(last["spot_usd_per_h100e_hour_p95"]))
    return ["## 9. How sure? The balance over 200 draws of the assumptions", "", "![bands](bands.svg)", "",
            "`inputs/studies/monte_carlo.yaml` draws Microsoft's 2027 capex (a triangle around $174B), us_central's grid "
            "(a normal around 12 GW/y), OpenAI's frontier growth, ChatGPT's tokens per user and Google's 2028 workloads "
            "200 times (Latin hypercube), each run with a seed of its own so that the slips of training runs and launches "
            "vary too; `bands.csv` gives each month's percentiles. In %s of the %d runs the market is "
            "in structural shortage for at least 60 of the 120 months (the median run: %d months; the fewest: %d). At the "
            "end of 2032 the relative balance lies from %.2f to %.2f (P5 to P95), and the spot index from %s per "
            "H100e-hour, near its floor in most runs although compute is short everywhere: the index moves with the "
            "share of offered capacity that sells, not with the bids left unmet (verdict.txt says so wherever it happens). "
            "The base lies in the upper part of the band from 2030: OpenAI's frontier growth, which decides the 2032 "
            "balance almost alone (correlation %.2f over the runs), is drawn from 2.0 to 4.6 a year around the base's 3.0, "
            "so most draws grow its runs faster than the base does."
            % (half, n, round(months[n // 2]), round(months[0]), num(last["relative_balance_frac_p5"]),
               num(last["relative_balance_frac_p95"]), spot, correlation(samples, "programs.openai_frontier.growth_per_year",
                                                                     "final_relative_balance_frac")), ""]


def correlation(rows, a, b):
    xs, ys = [num(r[a]) for r in rows], [num(r[b]) for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx, syy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    return sxy / (sxx * syy) ** 0.5


# The announced deals of the base (calibration notes, "Contracts"), in the order of the notes.
DEALS = ["meta_coreweave_2025", "meta_coreweave_2026", "meta_nebius_firm", "openai_coreweave", "microsoft_nebius",
         "openai_oracle"]


def contract_terms(resolved):
    """name -> {field: text} for the contracts of a scenario.resolved.yaml (one flow map a line)."""
    terms = {}
    with open(resolved) as f:
        for line in f:
            m = re.match(r"\s+- \{name: ([A-Za-z0-9_]+), (.*)\}$", line.rstrip())
            if m and "seller:" in m.group(2):
                terms[m.group(1)] = dict(re.findall(r"(start|ramp|value): ([^,}]+)", m.group(2)))
    return terms


def deals_section(base, save):
    rows = read_csv(os.path.join(base, "contracts.csv"))
    terms = contract_terms(os.path.join(base, "scenario.resolved.yaml"))
    delivered, paid, short = {}, {}, {}
    for r in rows:
        k = r["contract"]
        delivered.setdefault(k, []).append((year_of(r["date"]), num(r["delivered_h100e"]), r["date"][:7]))
        paid[k] = paid.get(k, 0.0) + num(r["payment_usd"])
        short[k] = short.get(k, 0) + (num(r["shortfall_h100e"]) > 0)
    small = [k for k in DEALS if k != "openai_oracle" and k in delivered]
    top = max(v for k in small for _, v, _ in delivered[k]) / 1e3
    c = Chart("Base scenario: capacity the announced deals deliver, ramping in", "thousand H100e", 2025, 2033, 0,
              50 * (int(top / 50) + 1), 5)
    for n, k in enumerate(small):
        c.line([x for x, _, _ in delivered[k]], [v / 1e3 for _, v, _ in delivered[k]], k, COLOURS[n % len(COLOURS)], 1.8)
    save("deals.svg", c.svg())
    oracle = max(delivered.get("openai_oracle", [(0, 0, "")]), key=lambda p: p[1])
    md = ["## 8. The announced deals: in force over a ramp, delivered, paid", "", "![deals](deals.svg)", "",
          "Deals announce totals, not schedules: in the base each comes into force over a `ramp` (an assumption, long "
          "enough for the seller's fleet in the region to carry it), and a deal's value is spread over what is in force. "
          "OpenAI-Oracle (3.75 GW of IT power) is off this chart's scale: it delivers up to %.1fM H100e (%s)."
          % (oracle[1] / 1e6, oracle[2]), "",
          "| deal | in force from | ramp | value | paid in 2023-2032 | months short |", "|---|---|---|---|---|---|"]
    for k in DEALS:
        if k not in paid:
            continue
        t = terms.get(k, {})
        value = t.get("value", "")
        if value.startswith("$"):
            value = "$%sB" % fmt(float(value[1:]) / 1e9)
        md.append("| `%s` | %s | %s | %s | $%sB | %d |" % (k, t.get("start", ""), t.get("ramp", "none"), value,
                                                            fmt(paid[k] / 1e9), short[k]))
    md += ["", "A deal delivered in full and paid take-or-pay pays its value; OpenAI-Oracle pays 90% of its in-force "
           "capacity whether used or not and the rest as used, so it pays a little less.", ""]
    return md


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def same_text(a, b):
    """Equal but for numbers that differ in their last printed digit: the runs are identical on
    one machine, and a libm that rounds one last bit differently elsewhere must not fail the check."""
    if NUMBER.sub("#", a) != NUMBER.sub("#", b):
        return False
    for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)):
        if x != y and abs(float(x) - float(y)) > max(0.011, 1e-3 * abs(float(x))):
            return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpumm", required=True, help="the gpumm program")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--out", help="write the notebook and figures here")
    g.add_argument("--check", help="compare a fresh build with this folder")
    a = ap.parse_args()
    gpumm = os.path.abspath(a.gpumm)
    if a.out:
        build(gpumm, os.path.abspath(a.out))
        return 0
    with tempfile.TemporaryDirectory(prefix="gpumm-notebooks-check-") as fresh:
        build(gpumm, fresh)
        stale = []
        for name in sorted(os.listdir(fresh)):
            theirs = os.path.join(a.check, name)
            if not os.path.exists(theirs) or not same_text(open(theirs).read(), open(os.path.join(fresh, name)).read()):
                stale.append(name)
        if stale:
            print("notebooks-export is out of date (%s); rebuild it with\n  tools/notebooks/make_notebooks.py --gpumm build/tools/gpumm --out notebooks-export"
                  % ", ".join(stale))
            return 1
        print("notebooks-export matches the model (%d files)" % len(os.listdir(fresh)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
