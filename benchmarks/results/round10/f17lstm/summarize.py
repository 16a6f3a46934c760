"""Paired summary of the f17lstm hold-out screen (round 8's summarize_f17best.py plus the paired std and t):
summarize.py LOG [BASE]  (markdown table to stdout; each candidate paired with BASE on the hold-outs both have)."""
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
    sdd = statistics.stdev(diff) if len(diff) > 1 else 0.0
    t = statistics.mean(diff) / (sdd / len(diff) ** 0.5) if sdd > 0 else 0.0
    out.append((statistics.mean(diff), name, len(seeds), statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0,
                sdd, t, sum(x > 1e-9 for x in diff), sum(x < -1e-9 for x in diff), min(rates), max(rates)))
print(f"| candidate | hold-outs | val % mean ± std | paired vs {base} | paired std | t | W/L | rate |")
print("|---|---|---|---|---|---|---|---|")
for m, name, n, mu, sd, sdd, t, w, lo, r0, r1 in sorted(out, reverse=True):
    print(f"| {name} | {n} | {mu:.2f} ± {sd:.2f} | {m:+.2f} | {sdd:.2f} | {t:+.1f} | {w}/{lo} | {r0:.3f}-{r1:.3f} |")
