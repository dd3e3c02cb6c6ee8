"""Every benchmark number README.md and docs/*.md quote carries a marker naming its stored result.

A number is followed by `<!-- result: DIR/FILE.json > key > key ... [*SCALE] -->`: the test reads
benchmarks/results/DIR/FILE.json, walks the keys (a list index is a number) and checks that the
stored value, times SCALE, rounds to the number as printed (its decimals, its sign). The key
`median` after a list of rounds takes their median.
"""

import json
import pathlib
import re
import statistics

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A leading "-" is a sign only after a space or "(" ("-->-3.65" ends a range, as in "1.88-3.65").
MARKED = re.compile(r"(?P<number>(?:\+|(?<![^\s(|])-)?\d[\d,]*(?:\.\d+)?)(?P<unit>[^\d\s<]{0,3})\s*<!-- result: (?P<spec>.*?) -->")


def markers(text):
    """(number as printed, the stored file, its keys, scale) for each marker in `text`."""
    found = []
    for match in MARKED.finditer(text):
        parts = [part.strip() for part in match["spec"].split(" > ")]
        scale = 1.0
        if parts[-1].startswith("*"):
            scale = float(parts.pop()[1:])
        found.append((match["number"], parts[0], parts[1:], scale))
    return found


def stored_value(file, keys):
    value = json.loads((RESULTS / file).read_text())
    for key in keys:
        if isinstance(value, list):
            # "median" of a list of rounds: the statistic the scripts print for it.
            value = statistics.median(value) if key == "median" else value[int(key)]
        else:
            value = value[key]
    return value


def agrees(printed, value):
    """True when `value` rounds to `printed` (commas, decimals and a leading + as printed)."""
    plain = printed.replace(",", "")
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    return f"{value:{'+' if plain.startswith('+') else ''}.{decimals}f}" == plain


def all_markers():
    return [(page.relative_to(ROOT).as_posix(), *marker) for page in PAGES for marker in markers(page.read_text())]


def test_the_pages_quote_stored_results():
    pages = {page for page, *_ in all_markers()}
    assert {"README.md", "docs/train.md", "docs/resnet.md", "docs/distributed.md"} <= pages


@pytest.mark.parametrize("page, printed, file, keys, scale", all_markers(),
                         ids=[f"{m[0]}:{m[2]}:{'/'.join(m[3])}" for m in all_markers()])
def test_each_quoted_number_is_its_stored_value(page, printed, file, keys, scale):
    assert (RESULTS / file).is_file(), f"{page} quotes {file}, which benchmarks/results/ lacks"
    value = stored_value(file, keys)
    assert agrees(printed, value * scale), f"{page} prints {printed}; {file} > {' > '.join(keys)} holds {value}"


def test_the_checker_catches_a_number_that_drifted():
    text = "fit 2.24x<!-- result: mlp_throughput/run_a.paired.json > ratios > tfcourse TF2 face / keras fit > median -->"
    (printed, file, keys, scale), = markers(text)
    assert agrees(printed, stored_value(file, keys) * scale)
    assert not agrees("2.30", stored_value(file, keys))  # the old best-round figure
    assert agrees("+0.0016", 0.00159) and not agrees("0.0016", -0.0016) and agrees("129,089", 129089.4)
