"""NTK-SAP scoring: ntk_paths against a straightforward deep-copy implementation, in the same run.

The straightforward version is NTK-SAP's Eq. 10 as the reference code computes it: per batch, deep-copy the
model, re-initialise it, run a BatchNorm statistics pass (train mode, momentum 1), deep-copy it again and
perturb the copy, then forward and backward through both. ntk_paths draws fresh weights as tensors
(`sample_params`), records the BatchNorm statistics inside the unperturbed forward, and never copies the model.
Both run the same prune loop (exponential schedule, exact top-k) so the difference is the scoring.

    python -m bench.ntksap_bench            # reduced setting (ResNet-20, T=4, R=2, 100 noise inputs)
    python -m bench.ntksap_bench --full     # the CIFAR-10 protocol of the paper (T=20, R=5, 100 inputs)
    python -m bench.ntksap_bench --device cuda   # both on a GPU (the draws are made on the CPU and moved, for both)
"""
import argparse, copy, sys, time
import torch
from torch import nn
from ntk_paths import ResNet20, init_weights, prune, Masks, topk_masks
from ntk_paths.prunable import prunable
from ntk_paths.prune import schedule_densities
from pathlib import Path
from tests.reference.ntksap import ntksap_reference   # the same reference the tests check ntk_paths against


def straightforward_scores(model, masks, eps, batch_size, rounds, gen):
    "Eq. 10 with deep copies and a separate statistics pass (unbiased variance, as the reference code keeps it)"
    scores = ntksap_reference(model, masks, eps, batch_size, rounds, model.input_shape, gen, biased_variance=False)
    return {n: s.float() for n, s in scores.items()}


def straightforward_prune(model, density, T, eps, batch_size, rounds, seed):
    masks, gen = Masks.ones(model).to(next(model.parameters()).device), torch.Generator().manual_seed(seed)
    for d in schedule_densities("exponential", density, T):
        masks = topk_masks(straightforward_scores(model, masks, eps, batch_size, rounds, gen), d, alive=masks)
    return masks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="T=20, R=5, 100 noise inputs (the paper's CIFAR-10 protocol)")
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--repeats", type=int, default=None, help="timed runs of each (median reported)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    a = ap.parse_args()
    T, R, n = (20, 5, 100) if a.full else (4, 2, 100)
    repeats = a.repeats or (1 if a.full else 3)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = init_weights(ResNet20(), 0).to(a.device)
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    before = copy.deepcopy(model.state_dict())
    times = {"ntk_paths": [], "straightforward": []}
    for _ in range(repeats):   # interleaved, so that drifts of the machine hit both
        sync(); t = time.perf_counter(); ours = prune(model, "ntksap", a.density, iterations=T, rounds=R, batch_size=n, progress=False)
        sync(); times["ntk_paths"].append(time.perf_counter() - t)
        t = time.perf_counter(); ref = straightforward_prune(model, a.density, T, 0.01, n, R, 0)
        sync(); times["straightforward"].append(time.perf_counter() - t)
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    # correctness: one scoring step with the same random draws, and, for scale, two seeds of NTK-SAP itself
    from ntk_paths.ntksap import ntksap
    ones = Masks.ones(model).to(a.device)
    s_ours = ntksap(model, ones, generator=torch.Generator().manual_seed(0), batch_size=n, rounds=R)
    s_ref = straightforward_scores(model, ones, 0.01, n, R, torch.Generator().manual_seed(0))
    s_other = ntksap(model, ones, generator=torch.Generator().manual_seed(1), batch_size=n, rounds=R)
    overlap = lambda x, y: sum(int((x[k] & y[k]).sum()) for k in x) / x.kept
    step = overlap(topk_masks(s_ours, a.density), topk_masks(s_ref, a.density))
    seeds = overlap(topk_masks(s_ours, a.density), topk_masks(s_other, a.density))
    agree = overlap(ours, ref)
    untouched = all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    print(f"NTK-SAP on ResNet-20 (CIFAR-10 shapes), density {a.density}, T={T}, R={R}, {n} noise inputs per round, "
          f"{torch.get_num_threads()} threads, device {a.device}, median of {repeats}")
    print(f"| implementation | seconds | ratio |\n|---|---|---|")
    print(f"| straightforward (deep copies, statistics pass) | {med['straightforward']:.2f} | 1.00 |")
    print(f"| ntk_paths | {med['ntk_paths']:.2f} | {med['straightforward'] / med['ntk_paths']:.2f}× faster |")
    print(f"one scoring step with the same draws keeps the same weights for {step:.1%} (float32, and the batch variance: "
          f"biased here, unbiased in the reference); two seeds of NTK-SAP share {seeds:.1%}; after all {T} iterations "
          f"the two implementations share {agree:.1%}. Model weights and buffers unchanged by ntk_paths: {untouched}")


if __name__ == "__main__":
    main()
