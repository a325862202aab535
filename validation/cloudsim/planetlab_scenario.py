#!/usr/bin/env python3
"""Write the scenario of CloudSim 3.0.3's PlanetLab experiment for one day.

    planetlab_scenario.py DAY [--order FILE] [--trace-dir DIR] > scenario.toml

CloudSim gives VM i the i-th file of `File.listFiles()`, which is the directory's order
on disk (readdir), not sorted, and VM i's type is i / ceil(n / 4). The order comes from
FILE ("index file-name" lines, as ../shared/reference/cloudsim-planetlab/ ships for
20110303) or, without it, from reading the day's directory here, which is what Java
would see on this file system.
"""
import argparse
import math
import os
import sys

VM_TYPES = [  # (MIPS, RAM MB), Constants.VM_MIPS / VM_RAM
    (2500, 870),
    (2000, 1740),
    (1000, 1740),
    (500, 613),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("day")
    ap.add_argument("--order")
    ap.add_argument("--trace-dir", default=os.environ.get("SCALELAB_TRACE_DIR", "."))
    a = ap.parse_args()
    if a.order:
        files = [line.rstrip("\n").split(" ", 1)[1] for line in open(a.order) if line.strip()]
    else:
        files = os.listdir(os.path.join(a.trace_dir, "planetlab", a.day))
    n = len(files)
    block = math.ceil(n / len(VM_TYPES))
    out = sys.stdout
    out.write(f"""# cloudsim-planetlab-{a.day}: CloudSim 3.0.3's PlanetLab consolidation experiment
# (Beloglazov & Buyya, CCPE 2012) for the day {a.day}, under the CloudSim profile.
#
# Exercises: the CloudSim-compatible profile end to end - 800 hosts of two kinds
# (HP ProLiant ML110 G4, 2 x 1860 MIPS, and G5, 2 x 2660 MIPS, alternating), {n} VMs of
# four sizes replaying one PlanetLab file each in CloudSim's order, power-aware best fit
# placement, overload relief and underload consolidation with host shutdowns, and
# CloudSim's energy, SLATAH, PDM and ESV. `scalelab validate` runs it with THR, IQR, MAD
# and LR and compares with CloudSim's published numbers.
#
# Written by validation/cloudsim/planetlab_scenario.py; the data is planetlab/{a.day}
# under --trace-dir or SCALELAB_TRACE_DIR.
name = "cloudsim-planetlab-{a.day}"
description = "CloudSim 3.0.3's PlanetLab experiment, {a.day}: 800 hosts, {n} VMs, THR-MMT-0.8."
seed = 1
duration_s = 86400
control_interval_s = 300
sample_interval_s = 300
record_interval_s = 900
node_order = "interleaved"

[compat]
profile = "cloudsim"

[sim]
baseline = "beloglazov_thr"
baseline_parameter = 0.8
vm_selection = "mmt"

[[nodes]]
name = "g4"
count = 400
cores = 2
core_mips = 1860
memory_mib = 4096
nic_mbps = 1000
power = "hp_ml110_g4"

[[nodes]]
name = "g5"
count = 400
cores = 2
core_mips = 2660
memory_mib = 4096
nic_mbps = 1000
power = "hp_ml110_g5"
""")
    for t, (mips, ram) in enumerate(VM_TYPES):
        ids = files[t * block:(t + 1) * block]
        if not ids:
            continue
        out.write(f"""
[[vms]]
name = "vm{mips}"
count = {len(ids)}
vcpus = 1
mips = {mips}
memory_mib = {ram}
""")
        out.write('workload = { kind = "trace", format = "planetlab", path = "planetlab/%s", select = "ids", ids = [\n' % a.day)
        for f in ids:
            out.write(f'  "{f}",\n')
        out.write("] }\n")


main()
