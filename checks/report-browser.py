#!/usr/bin/env python3
"""Render scalelab's HTML reports in a real browser (headless Chromium) and check them.

For a run, a comparison and a sweep report (and a validation report when given a
validation result): the page loads with no console error and no blocked fetch (the
report has no scripts and must reach nothing), and every plot, rendered on its own, is
not blank (enough non-white pixels, several colours). With --screenshot, the top of the
run report is saved as the README's picture.

Usage: report-browser.py --scalelab BIN [--validation RESULT.json] [--screenshot PNG]
Needs: chromium (Debian package). Standard library only.
"""

import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(url, png, size, profile):
    cmd = ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
           f"--window-size={size[0]},{size[1]}", f"--screenshot={png}", url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0 or not os.path.exists(png):
        sys.exit(f"chromium failed on {url}: {p.stderr[-2000:]}")
    return p.stderr


def console_problems(log):
    """Console errors and refused loads that Chromium logged for the page."""
    bad = []
    for line in log.splitlines():
        if "CONSOLE" in line or "Uncaught" in line or "Refused to" in line:
            bad.append(line.strip())
    return bad


def read_png(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                sys.exit(f"{path}: PNG colour type {ctype} depth {depth} not handled")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        rows.append([tuple(line[k:k + 3]) for k in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def ink(path):
    """Share of pixels in a colour (data: lines, dots, cells, bars; axes, grid and text
    are grey), and how many distinct colours there are."""
    w, h, rows = read_png(path)
    colours, inked = set(), 0
    for row in rows:
        for px in row:
            if max(px) - min(px) > 40:
                inked += 1
            colours.add(px)
    return inked, inked / float(w * h), len(colours)


def figures(html):
    return re.findall(r'<figure id="([^"]+)" class="plot">(.*?)</figure>', html, re.S)


def check_report(name, path, work, profile):
    html = open(path, encoding="utf-8").read()
    if "<script" in html:
        sys.exit(f"{name}: the report has a script")
    log = chromium("file://" + path, os.path.join(work, f"{name}.png"), (1100, 2400), profile)
    bad = console_problems(log)
    if bad:
        sys.exit(f"{name}: the browser reported problems:\n" + "\n".join(bad))
    figs = figures(html)
    if not figs:
        sys.exit(f"{name}: no plots")
    head = html.split("<body>")[0]
    for fid, body in figs:
        page = os.path.join(work, f"{name}-{fid}.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(f"{head}<body><figure>{body}</figure></body></html>")
        png = os.path.join(work, f"{name}-{fid}.png")
        chromium("file://" + page, png, (1050, 620), profile)
        inked, share, colours = ink(png)
        # At least one dot's worth of data colour: a scatter whose estimates were all
        # exact draws its dots on one spot.
        if inked < 20 or colours < 4:
            sys.exit(f"{name}: plot {fid} looks blank ({share:.1%} inked, {colours} colours)")
        print(f"  {name} {fid}: {share:.1%} of the pixels in data colours, {colours} colours")
    print(f"{name}: page loads with no console errors; {len(figs)} plots drawn")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scalelab", required=True)
    ap.add_argument("--validation", help="a `scalelab validate --json` result")
    ap.add_argument("--screenshot", help="save the top of the run report here (PNG)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="scalelab-report-browser-")
    profile = os.path.join(work, "profile")
    db = os.path.join(work, "x.db")

    def sl(*args):
        subprocess.run([a.scalelab, "--db", db, *args], check=True,
                       stdout=subprocess.DEVNULL, cwd=work)

    rec_a = os.path.join(work, "a.run.json")
    rec_b = os.path.join(work, "b.run.json")
    rec_c = os.path.join(work, "c.run.json")
    sl("run", os.path.join(ROOT, "scenarios/mtbf-failures.toml"), "--no-store", "-o", rec_a)
    sl("run", os.path.join(ROOT, "scenarios/hot-node-relief.toml"), "--no-store", "-o", rec_b)
    sl("run", os.path.join(ROOT, "scenarios/hot-node-relief.toml"), "--no-store", "--seed", "99",
       "-o", rec_c)
    sweep = os.path.join(work, "sweep")
    sl("sweep", os.path.join(ROOT, "examples/sweep.toml"), "--out", sweep)
    reports = {
        "run": [rec_a],
        "power-run": [rec_b],
        "compare": [rec_b, rec_c],
        "sweep": [sweep],
    }
    if a.validation:
        reports["validation"] = [a.validation]
    for name, inputs in reports.items():
        out = os.path.join(work, f"{name}.html")
        sl("report", *inputs, "--out", out)
        check_report(name, out, work, profile)
    if a.screenshot:
        chromium("file://" + os.path.join(work, "run.html"), a.screenshot, (1100, 1500), profile)
        print(f"screenshot: {a.screenshot}")
    print("report-browser: all reports render in Chromium")


if __name__ == "__main__":
    main()
