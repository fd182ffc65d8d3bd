"""One epoch of ResNet-20 on CIFAR-10-format data: ntk_paths' `train` with the NTK-SAP recipe against the official
training loop as NTK-SAP's train.py and Utils/load.py run it (torchvision CIFAR10, PIL transforms RandomCrop(32, 4) +
RandomHorizontalFlip + ToTensor + Normalize, a DataLoader with workers, SGD momentum 0.9, lr 0.1, weight decay 1e-4),
in the same process, on the same model and the same images.

    python bench/train_bench.py [--fraction 0.2] [--workers 4] [--threads 2] [--device cuda] [--repeats 1] [--warmup 1] [--amp bf16] [--no-channels-last]

The data is written here in torchvision's CIFAR-10 file format (random images, all 50,000 with --fraction 1, or the
stated fraction), so nothing is downloaded. Each side trains one epoch and then evaluates the test split; the table
gives training images per second over the whole call and the ratio ours / theirs."""
import argparse, statistics, tempfile, time
from pathlib import Path
import torch
import torch.nn.functional as F
from ntk_paths import ResNet20, init_weights, train
from ntk_paths.images import write_cifar, load_cifar, CIFAR

p = argparse.ArgumentParser()
p.add_argument("--fraction", type=float, default=0.2, help="of CIFAR-10's 50,000 training and 10,000 test images")
p.add_argument("--workers", type=int, default=4, help="theirs: DataLoader workers (the official main.py default is 4)")
p.add_argument("--threads", type=int, default=2); p.add_argument("--device", default="cpu")
p.add_argument("--repeats", type=int, default=1, help="timed runs of each, interleaved (the median is printed)")
p.add_argument("--warmup", type=int, default=1, help="untimed runs of each first (0 for a full-size epoch)")
p.add_argument("--no-channels-last", action="store_true", help="ours: train in the default memory format (what the speed-up owes to it)")
p.add_argument("--amp", default=None, help="ours: bf16 or fp16 (theirs runs float32, as the official code does)")
a = p.parse_args()
torch.set_num_threads(a.threads)
dev = torch.device(a.device)
ntrain, ntest = round(50000 * a.fraction), round(10000 * a.fraction)
root = Path(tempfile.mkdtemp())
g = torch.Generator().manual_seed(0)
write_cifar(root, "cifar10", torch.randint(0, 256, (ntrain, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(ntrain) % 10,
            torch.randint(0, 256, (ntest, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(ntest) % 10)


def sync():
    if dev.type == "cuda": torch.cuda.synchronize()


def theirs(epochs=1):
    "The official loop: torchvision's dataset and transforms, a DataLoader with workers, the plain train/eval loops"
    import torchvision.datasets as tvd, torchvision.transforms as T
    class CIFAR10(tvd.CIFAR10):                  # the md5 check would refuse files written here; nothing else changes
        def _check_integrity(self): return True
        def _load_meta(self): self.classes = [f"class_{i}" for i in range(10)]   # its md5 check, again
    mean, std = CIFAR["cifar10"][5], CIFAR["cifar10"][6]
    tr = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(mean, std)])
    te = T.Compose([T.ToTensor(), T.Normalize(mean, std)])
    kw = dict(num_workers=a.workers, pin_memory=dev.type == "cuda")
    train_dl = torch.utils.data.DataLoader(CIFAR10(str(root), train=True, transform=tr), batch_size=128, shuffle=True, **kw)
    test_dl = torch.utils.data.DataLoader(CIFAR10(str(root), train=False, transform=te), batch_size=256, shuffle=False, **kw)
    model = init_weights(ResNet20(), 0).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[80, 120], gamma=0.1)
    sync(); t = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for x, y in train_dl:
            x, y = x.to(dev), y.to(dev)
            opt.zero_grad(); loss = F.cross_entropy(model(x), y); loss.item(); loss.backward(); opt.step()
        model.eval(); correct = 0
        with torch.no_grad():
            for x, y in test_dl: correct += (model(x.to(dev)).argmax(1) == y.to(dev)).sum().item()
        sched.step()
    sync()
    return time.perf_counter() - t


def ours(epochs=1):
    sync(); t = time.perf_counter()
    model = init_weights(ResNet20(), 0).to(dev)
    train(model, load_cifar("cifar10", root), None, "ntksap-cifar10-resnet20", epochs=epochs, amp=a.amp,
          channels_last=not a.no_channels_last, progress=False)
    sync()
    return time.perf_counter() - t


print(f"ResNet-20, one epoch of {ntrain:,} CIFAR-10-format training images (+ {ntest:,} test), batch 128, "
      f"{a.threads} threads, device {a.device}, theirs with {a.workers} DataLoader workers, median of {a.repeats}\n")
theirs_t, ours_t = [], []
for _ in range(a.warmup): ours(); theirs()    # warm-up: the first convolutions of a process set up their kernels
for _ in range(a.repeats): ours_t.append(ours()); theirs_t.append(theirs())
o, t = statistics.median(ours_t), statistics.median(theirs_t)
print("| loop | seconds | training images / s | ratio |")
print("|---|---|---|---|")
print(f"| official (torchvision CIFAR10 + PIL transforms + DataLoader) | {t:.1f} | {ntrain / t:,.0f} | 1.00 |")
print(f"| ntk_paths train, recipe ntksap-cifar10-resnet20{', amp ' + a.amp if a.amp else ''}{', NCHW' if a.no_channels_last else ''} | {o:.1f} | {ntrain / o:,.0f} | **{t / o:.2f}×** |")
