"""Straightforward implementations of the papers' official code, written from reading it (never copied), that the
tests (and bench/, run as `python -m bench.<name>` from the repository root) check ntk_paths against: `official`
(SynFlow's and the Path Kernel's iterative loop, float64) and `ntksap` (NTK-SAP's scoring loop)."""
