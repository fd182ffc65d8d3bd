import os
import pytest, torch

# Two threads for one pytest process; one each when pytest-xdist runs two workers on our two cores (two workers with two
# threads each oversubscribe the cores, and small-op PyTorch slows many times over when OpenMP threads wait on each other)
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else 2)


@pytest.fixture
def gen():
    "A fresh seeded CPU generator"
    return torch.Generator().manual_seed(0)
