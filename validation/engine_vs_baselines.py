#!/usr/bin/env python3
"""The engine's policy against the literature's baselines on a scenario it was not tuned on.

    python3 validation/engine_vs_baselines.py SCENARIO --seeds 1,2,3,4 \
        [--scalelab target/release/scalelab] [--policy POLICY.toml] [--add-power MODEL]
        [--drop-anti-affinity]

Every run gets `[power] switch_off_empty = true` (hosts switch off when empty); the
Beloglazov baselines consolidate as in CloudSim (`sim.consolidate`; Watcher has no such
step), the engine runs with the
policy file's sections (default: the one `scalelab tune examples/tune-planetlab.toml`
recommends). `--add-power` gives every node group that power model, for scenarios
without one (energy and ESV need it); `--drop-anti-affinity` removes anti-affinity
groups (the baselines, like CloudSim, ignore them; the engine does not). Prints one
line per run and how often the engine wins, against the Beloglazov baselines and
against them and Watcher: lower ESV than every one, no data loss, and no more
migrations than the one with the fewest.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

TUNED = """[policy.planner]
max_migrations_cluster = 800
[policy.consolidation]
enabled = true
target_ceiling = 0.7
max_hosts_per_round = 50
max_tries_per_round = 100
"""

BELOGLAZOV = ["beloglazov_thr", "beloglazov_iqr", "beloglazov_mad", "beloglazov_lr"]
BASELINES = BELOGLAZOV + ["watcher_workload_balance"]


def with_sim(text, lines):
    """The scenario with `lines` in its [sim] table (added when it has none)."""
    if re.search(r"^\[sim\]\s*$", text, re.M):
        return re.sub(r"^\[sim\]\s*$", "[sim]\n" + lines, text, count=1, flags=re.M)
    return text + "\n[sim]\n" + lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--seeds", default="1,2,3,4")
    ap.add_argument("--scalelab", default="target/release/scalelab")
    ap.add_argument("--policy", help="TOML with [policy...] sections for the engine")
    ap.add_argument("--add-power")
    ap.add_argument("--drop-anti-affinity", action="store_true")
    a = ap.parse_args()
    base = open(a.scenario).read()
    if a.add_power:
        base = base.replace("[[nodes]]\n", f'[[nodes]]\npower = "{a.add_power}"\n')
    if a.drop_anti_affinity:
        base = re.sub(r"^anti_affinity_group = .*\n", "", base, flags=re.M)
    base += "\n[power]\nswitch_off_empty = true\n"
    engine = open(a.policy).read() if a.policy else TUNED
    runs = {"engine": base + "\n" + engine}
    for b in BASELINES:
        consolidate = "consolidate = true\n" if b in BELOGLAZOV else ""
        runs[b] = with_sim(base, f'baseline = "{b}"\n{consolidate}')
    wins, seeds = [0, 0], [int(s) for s in a.seeds.split(",")]
    with tempfile.TemporaryDirectory() as d:
        sc, rec = os.path.join(d, "s.toml"), os.path.join(d, "r.run.json")
        for seed in seeds:
            got = {}
            for name, text in runs.items():
                with open(sc, "w") as f:
                    f.write(text)
                cmd = [a.scalelab, "--db", os.path.join(d, "x.db"), "run", sc,
                       "--no-store", "--seed", str(seed), "-o", rec]
                p = subprocess.run(cmd, capture_output=True, text=True)
                if p.returncode != 0:
                    sys.exit(f"{name}, seed {seed}: {p.stderr.strip()}")
                m = json.load(open(rec))["metrics"]
                got[name] = m
                print(f"seed {seed} {name:15} {m['energy_kwh']:8.1f} kWh "
                      f"{m['migrations']:6d} migrations  SLATAH {m['overload_time_frac']:.4%}  "
                      f"PDM {m['pdm']:.5%}  ESV {m['esv']:.3e}  data loss {m['data_loss_events']}")
            e = got["engine"]
            for k, among in enumerate([BELOGLAZOV, BASELINES]):
                best = min(got[b]["esv"] for b in among)
                fewest = min(got[b]["migrations"] for b in among)
                wins[k] += (
                    e["esv"] < best and e["data_loss_events"] == 0 and e["migrations"] <= fewest
                )
    print(f"the engine wins {wins[0]} of {len(seeds)} against the Beloglazov baselines, "
          f"{wins[1]} of {len(seeds)} against them and Watcher")


if __name__ == "__main__":
    main()
