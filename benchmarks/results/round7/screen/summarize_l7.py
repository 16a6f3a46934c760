"""Table of the round-7 SpikingLSTM screen records (runs_l7_*.jsonl): per tag and data set, val accuracy per seed,
the mean over seeds 0-2 and over all seeds, and the rate range."""
import json
import sys
from collections import defaultdict
from pathlib import Path

here = Path(__file__).parent
rows = defaultdict(dict)
for f in sorted(here.glob("runs_l7_*.jsonl")):
    for line in f.read_text().splitlines():
        r = json.loads(line)
        if r.get("split") != "val":
            continue
        rows[(r["tag"], r["data"])][r["seed"]] = (100 * r["accuracy"], r["firing_rate"] or 0.0, r["neuron"])
for (tag, data), by in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    seeds = sorted(by)
    acc = [by[s][0] for s in seeds]
    m3 = [by[s][0] for s in seeds if s < 3]
    rates = [by[s][1] for s in seeds]
    print(f"{data:18s} {tag:16s} {' / '.join(f'{a:.2f}' for a in acc):45s} "
          f"mean0-2 {sum(m3) / max(1, len(m3)):6.2f}  mean{len(acc)} {sum(acc) / len(acc):6.2f}  "
          f"r {min(rates):.3f}-{max(rates):.3f}  {by[seeds[0]][2]}")
