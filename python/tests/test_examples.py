"""The README's Python example is python/examples/quickstart.py, and it runs."""

from __future__ import annotations

import re
import runpy

from conftest import ROOT

EXAMPLE = ROOT / "python" / "examples" / "quickstart.py"


def test_the_readme_shows_the_quickstart_file():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert EXAMPLE.read_text() in blocks, "README's Python example differs from python/examples/quickstart.py"


def test_the_quickstart_runs(capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("result: ")
    assert out[1].startswith("(64, 199) float64")
    rewards = eval(out[2])  # a printed list of floats
    assert len(rewards) == 2 and all(isinstance(r, float) for r in rewards)
