import pytest, torch

torch.set_num_threads(2)


@pytest.fixture
def gen():
    "A fresh seeded CPU generator"
    return torch.Generator().manual_seed(0)
