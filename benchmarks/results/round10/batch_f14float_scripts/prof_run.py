"""cProfile of the fast simulator on one bench model: python profile.py [name] [precision] [n]"""
import cProfile, pstats, sys, time, os
sys.path.insert(0, os.path.dirname(__file__))
from setup_model import make
import torch

name = sys.argv[1] if len(sys.argv) > 1 else "spiking_rnn"
prec = sys.argv[2] if len(sys.argv) > 2 else "float"
n = int(sys.argv[3]) if len(sys.argv) > 3 else 10
model, x, xn, net, plan, run = make(name, prec)
run(); run()
print([(p.name, p.kind, p.size) for p in net.populations])
print([(b.name, b.source, b.target, getattr(b, 'port', None)) for b in net.blocks] if hasattr(net, 'blocks') else '')
for _ in range(3):
    t = time.process_time(); 
    with torch.no_grad(): model(x)
    tt = time.process_time() - t
    t = time.process_time(); run(); tf = time.process_time() - t
    print(f"torch {tt*1e3:.1f} fast {tf*1e3:.1f} ratio {tf/tt:.2f}")
pr = cProfile.Profile()
pr.enable()
for _ in range(n):
    run()
pr.disable()
pstats.Stats(pr).sort_stats("tottime").print_stats(25)
