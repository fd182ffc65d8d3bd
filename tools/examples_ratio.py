"""How many exported cells that define a public name are followed by an example (the next code cell, not exported),
and which exported cells are over 30 lines: python tools/examples_ratio.py [-v]. Issue 27 asked for fastcore's 76 %."""
import json, re, sys
from pathlib import Path

defines = re.compile(r"^(?:@.*\n)*(?:def|class) ([A-Za-z]\w*)", re.M)
with_example = total = 0
missing, long = [], []
for nb in sorted(Path("nbs").glob("[0-9][0-9]_*.ipynb")):
    cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
    for i, c in enumerate(cells):
        src = "".join(c["source"])
        if not src.startswith("#| export"): continue
        if len(src.splitlines()) > 31: long.append(f"{nb.stem}: {len(src.splitlines()) - 1} lines ({', '.join(defines.findall(src)[:3])})")
        names = [n for n in defines.findall(src) if not n.startswith("_")]
        if not names: continue
        total += 1
        nxt = "".join(cells[i + 1]["source"]) if i + 1 < len(cells) else ""
        if nxt and not nxt.startswith("#| export") and not nxt.startswith("#| hide"): with_example += 1
        else: missing.append(f"{nb.stem}: {', '.join(names)}")
print(f"{with_example} of {total} exported cells that define a public name are followed by an example "
      f"({100 * with_example / total:.0f} %); {len(long)} exported cells over 30 lines")
if "-v" in sys.argv: print("\nwithout an example:", *missing, "\nover 30 lines:", *long, sep="\n  ")
