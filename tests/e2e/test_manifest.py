"""The harness reproduces reference_impls/manifest.toml exactly: verdicts and (code, op) sets."""

import pytest

from gradcheck.runner import Options, check_path

from conftest import REFERENCE, actual_codes, expected_codes, manifest

ENTRIES = manifest()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["path"] for e in ENTRIES])
def test_manifest_is_reproduced(entry, consensus):
    target = entry["path"]
    if not target.endswith((".py", ".ipynb")):
        path = target  # an installed module:Class
    else:
        path = str(REFERENCE / target)
    result = check_path(path, Options(), consensus)
    assert actual_codes(result) == expected_codes(entry), [f.message for f in result.findings]
    assert result.verdict == entry["verdict"]


def test_every_reference_file_is_in_the_manifest():
    files = {p.name for p in REFERENCE.iterdir() if p.suffix in (".py", ".ipynb")}
    assert files == {e["path"] for e in ENTRIES if e["path"].endswith((".py", ".ipynb"))}


def test_findings_point_at_the_offending_line(consensus):
    result = check_path(str(REFERENCE / "seed_002.py"), Options(), consensus)
    add = next(f for f in result.findings if (f.code, f.op) == ("grad-overwrite", "add"))
    assert add.location.text == "self.grad = 1.0 * result.grad"
    assert "use `+=`" in add.message
    sub = next(f for f in result.findings if f.code == "grad-not-propagated")
    assert sub.location.text.startswith("def __sub__")


def test_notebook_locations_name_the_cell(consensus):
    result = check_path(str(REFERENCE / "seed_001.ipynb"), Options(), consensus)
    tanh = next(f for f in result.findings if f.code == "missing-chain-factor")
    assert (tanh.location.cell, tanh.location.text) == (3, "self.grad+=1-(out.data**2)")
    assert "10\n10\n10\n8\n1" in result.output  # the notebook's own prints, captured


def test_composite_ops_inherit_from_their_primitive(tmp_path, consensus):
    source = (REFERENCE / "correct_full.py").read_text()
    broken = source.replace("self.grad += other.data * out.grad", "self.grad = other.data * out.grad")
    assert broken != source
    path = tmp_path / "broken_mul.py"
    path.write_text(broken)
    result = check_path(str(path), Options(), consensus)
    overwrite = [f for f in result.findings if f.code == "grad-overwrite"]
    assert [f.op for f in overwrite] == ["mul"]
    assert {"neg", "truediv", "rmul", "sub"} <= set(overwrite[0].inherited_by)
