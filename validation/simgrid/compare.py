#!/usr/bin/env python3
"""scalelab's migration executor against SimGrid 3.32's live-migration model.

    compare.py --harness BIN --scalelab BIN [--markdown FILE]

For each case (VM memory, link speed, dirty intensity, concurrent VMs) the SimGrid
harness (migration.cpp, built against libsimgrid-dev) prints the time of each
sg_vm_migrate. The same case is written as a scalelab scenario: one source node per VM,
each overloaded (one vCPU at 95 % of one core), one target with room, the THR baseline
moving each VM in the first control round. scalelab's time is the migration's pre-copy
start to the end of stop-and-copy, read from the run record. The two models are set to
the same rules: SimGrid's 30 ms downtime target, its 90 % writable working set, no round
or data limit, no resume time, the 0.97 bandwidth factor of its LV08 network model as
scalelab's goodput, and dirtying at INTENSITY % of the migration speed while the VM
computes. Each time must agree within 10 %.

SimGrid never ends a pre-copy that cannot converge (it runs to its 10^7 s timeout and
aborts). In those cases only scalelab runs: with its default policy, the migration must
be rolled back by its own plan (a timeout or the pause limit); with QEMU's auto-converge
and no round or data limit, it must complete with the guest throttled.

Exits 1 when a case fails.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

# (memory MiB, link Mbit/s, intensity % of the migration speed, VMs migrating at once)
CASES = [
    (m, l, i, 1)
    for m in (1024, 4096)
    for l in (1000, 10000)
    for i in (0, 25, 50, 75)
] + [
    (2048, 1000, 20, 2),
    (1024, 10000, 40, 2),
]
# Cases where the VM dirties faster than its share of the link: SimGrid cannot run them.
DIVERGENT = [
    (1024, 1000, 100, 1, False),
    (1024, 1000, 100, 1, True),
]
TOLERANCE = 0.10


def mig_speed_mib_s(link_mbps):
    """SimGrid's per-migration rate cap, set just above the link so that the link
    decides (1000 Mbit/s = 119.2 MiB/s -> 121)."""
    return math.ceil(link_mbps * 1e6 / 8 / 2**20) + 1


def scenario(mem, link, intensity, vms, auto_converge=None):
    dirty = intensity / 100.0 * mig_speed_mib_s(link)
    lines = [
        'name = "simgrid-case"',
        f'description = "{mem} MiB, {link} Mbit/s, dirty {dirty:.1f} MiB/s, {vms} VM(s)"',
        "seed = 1",
        "duration_s = 3600",
        "control_interval_s = 60",
        "[sim]",
        'baseline = "beloglazov_thr"',
    ]
    if auto_converge is None:
        lines += [
            "[policy.migration]",
            "downtime_target_ms = 30",
            "max_rounds = 1000",
            "max_data_factor = 1000",
            "resume_ms = 0",
            "timeout_safety_factor = 100",
            "max_unresponsive_ms = 3600000",
            "max_estimated_downtime_ms = 3600000",
        ]
    elif auto_converge:
        # QEMU's way: throttle the guest, with no round or data limit to stop first.
        lines += [
            "[policy.migration]",
            "auto_converge = true",
            "max_rounds = 1000",
            "max_data_factor = 1000",
        ]
    lines += [
        "[[nodes]]",
        'name = "src"',
        f"count = {vms}",
        "cores = 1",
        "memory_mib = 65536",
        f"nic_mbps = {link}",
        "[[nodes]]",
        'name = "dst"',
        "cores = 8",
        "memory_mib = 65536",
        f"nic_mbps = {link}",
    ]
    for k in range(vms):
        node = "src" if vms == 1 else f"src-{k}"
        lines += [
            "[[vms]]",
            f'name = "vm{k}"',
            "vcpus = 1",
            f"memory_mib = {mem}",
            f"dirty_rate_mib_s = {dirty}",
            f'nodes = ["{node}"]',
            'workload = { kind = "constant", level = 0.95 }',
        ]
    return "\n".join(lines) + "\n"


def run_scalelab(binary, text, tmp, name):
    sc = os.path.join(tmp, f"{name}.toml")
    rec = os.path.join(tmp, f"{name}.run.json")
    with open(sc, "w") as f:
        f.write(text)
    subprocess.run(
        [binary, "--db", os.path.join(tmp, "x.db"), "run", sc, "--no-store", "-o", rec],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(rec) as f:
        return json.load(f)


def transfer_s(m):
    """Pre-copy start to the end of stop-and-copy, seconds."""
    steps = {s["action"]: s for s in m["steps"]}
    return (steps["stop_and_copy"]["end_ms"] - steps["memory_pre_copy"]["start_ms"]) / 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--scalelab", required=True)
    ap.add_argument("--markdown")
    a = ap.parse_args()
    rows, bad = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, (mem, link, intensity, vms) in enumerate(CASES):
            out = subprocess.run(
                [a.harness, str(mem), str(link), str(intensity), str(mig_speed_mib_s(link)), str(vms)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            simgrid = [float(x) for x in out]
            rec = run_scalelab(a.scalelab, scenario(mem, link, intensity, vms), tmp, f"case{n}")
            migs = [m for m in rec["migrations"] if m["outcome"] == "completed"]
            if len(migs) != vms:
                rows.append((mem, link, intensity, vms, simgrid[0], None, None, "no migration"))
                bad += 1
                continue
            for sg, m in zip(simgrid, migs):
                ours = transfer_s(m)
                diff = (ours - sg) / sg
                ok = abs(diff) <= TOLERANCE
                bad += not ok
                rows.append((mem, link, intensity, vms, sg, ours, diff, "ok" if ok else "**outside**"))
        divergent = []
        for n, (mem, link, intensity, vms, ac) in enumerate(DIVERGENT):
            rec = run_scalelab(a.scalelab, scenario(mem, link, intensity, vms, ac), tmp, f"div{n}")
            migs = rec["migrations"]
            if not migs:
                what, ok = "no migration: the plan was refused", False
            else:
                m = migs[0]
                if m["outcome"] == "rolled_back":
                    what, ok = f"rolled back: {m['rollback_reason']}", not ac
                elif m["outcome"] == "completed":
                    what = f"completed in {transfer_s(m):.1f} s, guest throttled to {m['max_throttle_pct']:.0f} %"
                    ok = ac and m["max_throttle_pct"] > 0
                else:
                    what, ok = m["outcome"], False
            bad += not ok
            divergent.append((mem, link, intensity, "on" if ac else "off", what, "ok" if ok else "**wrong**"))
    text = (
        "| VM memory | link | dirty (of migration speed) | VMs at once | SimGrid 3.32 | scalelab | difference | |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
    )
    for mem, link, intensity, vms, sg, ours, diff, ok in rows:
        ours_s = "-" if ours is None else f"{ours:.2f} s"
        diff_s = "-" if diff is None else f"{diff * 100:+.2f} %"
        text += f"| {mem} MiB | {link / 1000:g} Gbit/s | {intensity} % | {vms} | {sg:.2f} s | {ours_s} | {diff_s} | {ok} |\n"
    text += (
        "\nWhere pre-copy cannot converge (SimGrid runs until its 10^7 s timeout and aborts), "
        "scalelab with its default policy, and with QEMU's auto-converge:\n\n"
        "| VM memory | link | dirty (of migration speed) | auto-converge | scalelab | |\n| ---: | ---: | ---: | --- | --- | --- |\n"
    )
    for mem, link, intensity, ac, what, ok in divergent:
        text += f"| {mem} MiB | {link / 1000:g} Gbit/s | {intensity} % | {ac} | {what} | {ok} |\n"
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    total = len(rows) + len(divergent)
    if bad:
        print(f"{bad} of {total} cases outside {TOLERANCE * 100:.0f} % or wrong", file=sys.stderr)
        return 1
    print(f"all {total} cases agree (migration times within {TOLERANCE * 100:.0f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
