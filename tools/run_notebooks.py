"""Execute the front page and the tutorials in place, so that they are committed with their outputs, figures included,
for people who browse the repository. Cells flagged slow, cuda or notest are skipped and keep their committed outputs;
`eval: false` cells are skipped and committed without outputs. Cells flagged `full` run here: a tutorial sets a quick
configuration (what nbdev_test checks, as `full` is in settings.ini's tst_flags) and then, in a `full` cell, the
configuration behind its committed outputs. Run through tools/run_notebooks.sh, which also cleans them with nbdev_clean."""
import re, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

SKIP = {"slow", "cuda", "notest"}

def directives(cell) -> list[str]:
    return [l.split("|", 1)[1].strip().replace(" ", "") for l in cell.source.splitlines() if re.match(r"\s*#\s*\|", l)]

def never_run(cell) -> bool:
    "`#| eval: false`: shown to be run by the reader (nbdev_test skips it too), so committed without outputs"
    return cell.cell_type == "code" and "eval:false" in directives(cell)

def flagged(cell) -> bool:
    return cell.cell_type == "code" and (never_run(cell) or any(d in SKIP for d in directives(cell)))

def run(path:Path):
    nb, t0 = read_nb(path), time.time()
    keep = {i: [] if never_run(c) else c.get("outputs", []) for i, c in enumerate(nb.cells) if flagged(c)}
    for c in nb.cells:                     # a cell that now prints nothing must not keep what it printed before
        if c.cell_type == "code": c["outputs"] = []
    sh = CaptureShell(path)
    sh.run_all(nb, exc_stop=True, preproc=flagged)
    for i, outs in keep.items(): nb.cells[i]["outputs"] = outs
    write_nb(nb, path)
    print(f"{path}: {time.time() - t0:.0f} s, {path.stat().st_size // 1024} KB", flush=True)

if __name__ == "__main__":
    for p in sys.argv[1:] or ["nbs/index.ipynb", *sorted(map(str, Path("nbs/tutorials").glob("*.ipynb")))]: run(Path(p))
