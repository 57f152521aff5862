#!/usr/bin/env python3
"""scripts/plot-decide.py (make bench's plot of decide_bench) on tests/fixtures/decide_bench.json,
a trimmed decide_bench run with three partition counts and round figures, and on copies of it
that lack what a plot needs. Each case runs the script as make bench does, in a temp folder.

Usage: plot_decide_test.py [SOURCE_DIR] (default: this file's checkout)
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

SOURCE = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else
                         os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SCRIPT = os.path.join(SOURCE, "scripts", "plot-decide.py")
FIXTURE = os.path.join(SOURCE, "tests", "fixtures", "decide_bench.json")
SVG = "{http://www.w3.org/2000/svg}"


class PlotDecideTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="plot_decide_test.")
        self.addCleanup(self.dir.cleanup)
        with open(FIXTURE, encoding="utf-8") as f:
            self.doc = json.load(f)

    def plot(self, doc=None, *args):
        """Runs the script on doc (default: the fixture as it is); returns the process and the
        SVG's path."""
        results = FIXTURE
        if doc is not None:
            results = os.path.join(self.dir.name, "results.json")
            with open(results, "w", encoding="utf-8") as f:
                f.write(doc if isinstance(doc, str) else json.dumps(doc))
        out = os.path.join(self.dir.name, "plot.svg")
        p = subprocess.run([sys.executable, SCRIPT, results, "-o", out, *args],
                           capture_output=True, text=True, timeout=60)
        return p, out

    def without(self, prefix):
        doc = dict(self.doc)
        doc["benchmarks"] = [b for b in self.doc["benchmarks"]
                             if not b["name"].startswith(prefix)]
        return doc

    def refused(self, doc, message):
        p, out = self.plot(doc)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stderr, message + "\n")
        self.assertFalse(os.path.exists(out), "nothing is written when the plot is refused")

    def test_draws_both_series_with_a_point_per_partition_count(self):
        p, out = self.plot()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout + p.stderr, "")
        root = ET.parse(out).getroot()  # fails unless the SVG is well-formed XML
        self.assertEqual(root.tag, SVG + "svg")
        for series, us in (("decide", ["0.7", "1.4", "8.6"]), ("baseline", ["0.01", "0.1", "1.15"])):
            group = root.find(f".//{SVG}g[@id='{series}']")
            self.assertIsNotNone(group, f"no <g id=\"{series}\">")
            points = [e for e in group if e.get("class") == "point"]
            self.assertEqual([e.get("data-partitions") for e in points], ["10", "100", "1000"])
            self.assertEqual([e.get("data-us") for e in points], us)  # CPU time, in µs
            line = group.find(SVG + "polyline").get("points").split()
            self.assertEqual(len(line), 3)
        ratios = [e.text for e in root.iter(SVG + "text") if e.get("class") == "ratio"]
        self.assertEqual(ratios, ["70x", "14x", "7.5x"])
        # The title and the run's facts from the JSON's context.
        texts = [e.text for e in root.iter(SVG + "text")]
        self.assertIn("decide_bench: Decide and Baseline by partition count", texts)
        facts = [t for t in texts if t and "commit 0123abc" in t]
        self.assertEqual(len(facts), 1, texts)
        self.assertIn("CPU time per decision, 2026-12-05 12:00:00+00:00", facts[0])
        self.assertIn("µs per decision (log scale)", texts)
        self.assertIn("partitions (log scale)", texts)
        for tick in ("10", "100", "1,000", "0.01", "0.1", "1", "10"):
            self.assertIn(tick, texts)

    def test_real_time_on_request(self):
        p, out = self.plot(None, "--time", "real")
        self.assertEqual(p.returncode, 0, p.stderr)
        group = ET.parse(out).getroot().find(f".//{SVG}g[@id='decide']")
        self.assertEqual([e.get("data-us") for e in group if e.get("class") == "point"],
                         ["0.8", "1.5", "9"])

    def test_refuses_results_without_baseline(self):
        self.refused(
            self.without("BM_Baseline"),
            "plot-decide: {}: no BM_Baseline/<partitions> results (found: BM_Decide/10, "
            "BM_Decide/100, BM_Decide/1000, BM_DecideExample, BM_Decide_BigO, BM_Decide_RMS); "
            "run decide_bench without a --benchmark_filter that leaves them out".format(
                os.path.join(self.dir.name, "results.json")))

    def test_refuses_results_without_decide(self):
        p, _ = self.plot(self.without("BM_Decide"))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("no BM_Decide/<partitions> results", p.stderr)

    def test_refuses_one_partition_count(self):
        doc = self.without("BM_Decide/1")
        doc["benchmarks"] += [b for b in self.doc["benchmarks"] if b["name"] == "BM_Decide/100"]
        self.refused(doc, "plot-decide: {}: BM_Decide has one partition count (100); a plot "
                          "needs at least two".format(os.path.join(self.dir.name, "results.json")))

    def test_refuses_what_is_not_benchmark_json(self):
        results = os.path.join(self.dir.name, "results.json")
        self.refused('{"context": {}}', f'plot-decide: {results}: not Google Benchmark JSON '
                                        '(no "benchmarks" list)')
        self.refused("Running decide_bench", f"plot-decide: {results}: not JSON (Expecting "
                                             "value: line 1 column 1 (char 0))")

    def test_says_which_file_it_cannot_read_or_write(self):
        missing = os.path.join(self.dir.name, "missing.json")
        p = subprocess.run([sys.executable, SCRIPT, missing], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stderr,
                         f"plot-decide: {missing}: cannot read it (No such file or directory)\n")
        out = os.path.join(self.dir.name, "no-such-folder", "plot.svg")
        p = subprocess.run([sys.executable, SCRIPT, FIXTURE, "-o", out], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stderr,
                         f"plot-decide: {out}: cannot write it (No such file or directory)\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
