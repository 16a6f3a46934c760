"""Paired summary of the f17best hold-out screen: summarize_f17best.py LOG [BASE]  (markdown table to stdout)."""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
base = sys.argv[2] if len(sys.argv) > 2 else "base"
acc: dict = {}
for r in rows:
    if r["split"] == "val":
        acc.setdefault(r["name"], {})[r["seed"]] = (100 * r["acc"], r["rate"])
b = acc[base]
out = []
for name, d in acc.items():
    seeds = sorted(s for s in d if s in b)
    v = [d[s][0] for s in seeds]
    diff = [d[s][0] - b[s][0] for s in seeds]
    rates = [d[s][1] for s in seeds]
    out.append((statistics.mean(diff), name, len(seeds), statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0,
                sum(x > 1e-9 for x in diff), sum(x < -1e-9 for x in diff), min(rates), max(rates)))
print("| candidate | hold-outs | val % mean ± std | paired vs base | W/L | rate |")
print("|---|---|---|---|---|---|")
for m, name, n, mu, sd, w, lo, r0, r1 in sorted(out, reverse=True):
    print(f"| {name} | {n} | {mu:.2f} ± {sd:.2f} | {m:+.2f} | {w}/{lo} | {r0:.3f}-{r1:.3f} |")
