"""Options that make a method cheap, for the tests that run every method: NTK-SAP with one small draw per step, DPaI
with a few Adam steps (3000 by default). What is tested there (counts, untouched models, refusals) does not depend on
them; tests/test_dpai.py and nbs/17_ntksap.ipynb test the methods at their own settings."""
QUICK = {"ntksap": dict(rounds=1, batch_size=4), "dpai": dict(steps=3)}


def quick(method:str) -> dict: return dict(QUICK.get(method, {}))
