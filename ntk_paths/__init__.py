__version__ = "0.0.1"
"ntk_paths: prune neural networks at initialisation and see what the mask does through the NTK and its path decomposition."
# The only hand-written file in this package: it re-exports the main names so that
# `from ntk_paths import prune, Masks` works. nbdev_export only rewrites the version line above.
from .prunable import Prunable, Protect, prunable, locate, uncovered
from .masks import Masks, resolve_density, apply_masks, remove_masks, to_torch_prune, shuffle_masks, MaskMismatchError
from .topk import topk_masks, n_keep, layer_densities, layer_counts
from .functional import masked_params, masked_forward, eval_mode
from .models import (MLP, LeNet300_100, LeNet5, VGG, ResNet, ResNet20, Conv1dNet, LotteryVGG, ResNet18, resnet18_imagenet, MODELS,
                     make_model, init_weights)
from .data import (TensorData, DATASETS, load_dataset, load_digits, load_mnist1d, load_torchvision, balanced_batch,
                   noise_batch, ones_input, mean_input)
from .images import (ImageData, CIFAR, load_cifar, write_cifar, load_tiny_imagenet, load_image_folder, normalise, shrink,
                     pruning_batch, random_crop_flip, random_resized_crop_flip)
from .linalg import lanczos, hutchinson, hutch_pp
from .ntk import (empirical_ntk, ntk_matrix, ntk_vp, ntk_eigvals, kernel_eigvals, spectrum_stats, ntk_trace,
                  predict_mse_loss)
from .paths import (squared_pass, path_kernel_trace, path_kernel_gvp, path_kernel_eigvals, path_kernel_stats,
                    active_path_sums, path_count, effective_masks)
from .decomposition import path_decomposition, enumerate_paths, count_paths
from .scores import SCORES, Saliency, saliency
from . import data_scores, ntksap   # register snip, iter_snip, grasp and ntksap in SCORES
from .dpai import npb_counts, Balance   # registers dpai
from .prune import prune, prune_steps, PruneRun, Step, ScoreError, SCHEDULES, critical_compression
from .survival import survival_scores, Ranked, ScoreCache, prune_effective
from .train import train, evaluate, fit_mse, TrainResult, Recipe, RECIPES, get_recipe, lr_at, TorchData
from .executors import Executor, LocalExecutor, ProcessExecutor, RayExecutor, EXECUTORS, get_executor
from .sweep import SweepConfig, sweep, load_sweep, SweepResults, compare
from .reproduce import PROTOCOLS, Protocol, Reproduction, reproduce, published
from .plots import (new_figure, plot_layer_densities, mask_image, plot_mask, plot_spectra, plot_paths, plot_decomposition,
                    FAMILIES)   # also gives SweepResults its plot methods; matplotlib loads only when a picture is drawn

_WIDGETS = ("MaskExplorer", "SpectrumExplorer", "CompareView")
_REMOVED = {"Comparison": "SweepResults (what compare returns)", "spearman": "scipy.stats.spearmanr(a, b).statistic"}

def __getattr__(name):
    "The widgets load ipywidgets, so they are imported on first use: `import ntk_paths` in a script stays light"
    if name in _WIDGETS:
        from . import widgets
        return getattr(widgets, name)
    if name in _REMOVED: raise AttributeError(f"ntk_paths.{name} was removed in 0.0.2; use {_REMOVED[name]}")
    raise AttributeError(f"module 'ntk_paths' has no attribute {name!r}")
