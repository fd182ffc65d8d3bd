"""Effective density of every method on the 64-256-256-10 MLP at 100× and 333×, 3 seeds (pruning only, as the sweeps
prune): python tools/effective_table.py digits (or mnist1d) [methods, comma-separated; default: every method]; the tables
are in docs/results/effective.md."""
import sys, warnings, statistics, torch
warnings.simplefilter("ignore")
from ntk_paths import prune, make_model, init_weights, load_dataset, SCORES
torch.set_num_threads(1)
ds = sys.argv[1]
methods = sys.argv[2].split(",") if len(sys.argv) > 2 else list(SCORES)
data = load_dataset(ds)
rows = {}
for method in methods:
    for d in (0.01, 0.003):
        effs = []
        for seed in (0, 1, 2):
            net = init_weights(make_model("mlp", data.input_shape, data.num_classes), seed)
            try:
                m = prune(net, method, d, data=data if SCORES[method].data != "none" else None, seed=seed, progress=False,
                          input_shape=data.input_shape)
                effs.append(m.meta.get("effective_density", float("nan")))
            except Exception as e: effs.append(float("nan")); print(method, d, type(e).__name__, str(e)[:80], file=sys.stderr)
        rows[method, d] = effs
        print(method, d, [round(e, 5) for e in effs], flush=True)
print("| method | 0.01 (100×): effective | 0.003 (333×): effective |")
print("|---|---|---|")
for method in methods:
    cells = []
    for d in (0.01, 0.003):
        e = rows[method, d]
        cells.append(f"{statistics.mean(e):.4f} ± {statistics.stdev(e):.4f}")
    print(f"| {method} | " + " | ".join(cells) + " |")
