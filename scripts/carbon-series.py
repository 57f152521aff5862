#!/usr/bin/env python3
"""Writes SYNTHETIC grid carbon intensity series, one CSV per site, for sovereignd's
carbon.series_dir (docs/daemon-config.md, "Carbon series"): for tests, the demo and trying
green windows on a machine without a real feed. The figures are made up, and every file says so
in its first line; real sites point carbon.series_dir at files exported from their grid
operator or Electricity Maps instead.

Each site gets one point an hour, on the hour, from --from hours before now to --hours after
it: a daily cycle around its mean,

    gco2_per_kwh(t) = mean + swing * cos(2 pi (t - trough - 12h) / 24h)

lowest (mean - swing) at the trough and highest twelve hours away. The trough is --trough-in
hours from now when given (so that a green window of a few hours finds it), else at
--trough-utc o'clock UTC every day. Points up to now are "measured", later ones "forecast".

  scripts/carbon-series.py --out DIR [--trough-in H | --trough-utc H] [--from H] [--hours H]
                           [--now RFC3339] SITE=MEAN,SWING ...
  e.g. scripts/carbon-series.py --out /tmp/carbon --trough-in 3 paris-1=60,40 mumbai-1=650,100

Python's standard library only.
"""

import argparse
import datetime as dt
import math
import os
import re
import sys

SITE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)=([0-9]+(?:\.[0-9]+)?),([0-9]+(?:\.[0-9]+)?)$")


def parse_site(text):
    m = SITE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(
            f'"{text}" is not SITE=MEAN,SWING (e.g. paris-1=60,40; gCO2/kWh)')
    name, mean, swing = m.group(1), float(m.group(2)), float(m.group(3))
    if swing > mean:
        raise argparse.ArgumentTypeError(
            f'"{text}": the swing ({swing:g}) is larger than the mean ({mean:g}), which would '
            f'give negative intensities')
    return name, mean, swing


def parse_now(text):
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not an RFC 3339 time such as '
                                         f'2026-12-06T10:00:00Z')
    if t.tzinfo is None:
        raise argparse.ArgumentTypeError(f'"{text}" has no time zone (add Z for UTC)')
    return t.astimezone(dt.timezone.utc)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder to write <site>.csv into")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--trough-in", type=float, help="hours from now to the lowest point")
    group.add_argument("--trough-utc", type=float, default=13.0,
                       help="UTC hour of the daily lowest point (default 13)")
    p.add_argument("--from", dest="back", type=int, default=24,
                   help="hours of measured points before now (default 24)")
    p.add_argument("--hours", type=int, default=48,
                   help="hours of forecast after now (default 48)")
    p.add_argument("--now", type=parse_now, help="instead of the clock (RFC 3339)")
    p.add_argument("sites", nargs="+", type=parse_site, metavar="SITE=MEAN,SWING")
    a = p.parse_args()
    if not (0 <= a.back <= 24 * 365 and 1 <= a.hours <= 24 * 365):
        p.error("--from must be 0 to 8760 and --hours 1 to 8760")

    now = a.now or dt.datetime.now(dt.timezone.utc)
    hour = now.replace(minute=0, second=0, microsecond=0)
    if a.trough_in is not None:
        trough = now + dt.timedelta(hours=a.trough_in)
    else:
        trough = hour.replace(hour=0) + dt.timedelta(hours=a.trough_utc)
    os.makedirs(a.out, exist_ok=True)
    for name, mean, swing in a.sites:
        path = os.path.join(a.out, f"{name}.csv")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(f"# SYNTHETIC, not measured: scripts/carbon-series.py, mean {mean:g}, swing "
                    f"{swing:g} gCO2/kWh, written {now:%Y-%m-%dT%H:%M:%SZ}\n")
            f.write("timestamp,gco2_per_kwh,kind\n")
            for h in range(-a.back, a.hours + 1):
                t = hour + dt.timedelta(hours=h)
                phase = (t - trough).total_seconds() / 3600 - 12
                g = mean + swing * math.cos(2 * math.pi * phase / 24)
                kind = "measured" if t <= now else "forecast"
                f.write(f"{t:%Y-%m-%dT%H:%M:%SZ},{g:.1f},{kind}\n")
        os.replace(path + ".tmp", path)  # sovereignd never reads half a file
        print(f"{path}: {a.back + a.hours + 1} hourly points (synthetic)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
