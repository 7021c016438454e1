import json

import nbformat
import pytest

from gradcheck.discovery import discover
from gradcheck.loader import SourceError, read_submission
from gradcheck.notebook_syntax import strip_ipython


def test_ipython_syntax_is_neutralised_keeping_line_numbers():
    src = "%matplotlib inline\nx = 1\n!pip install graphviz\nfiles = !ls\n    %time f()\n"
    out = strip_ipython(src).splitlines()
    assert len(out) == 5
    assert out[0].startswith("pass") and out[1] == "x = 1" and out[2].startswith("pass")
    assert out[3].startswith("files = None") and out[4].startswith("    pass")
    compile(strip_ipython("if True:\n    %time 1\n"), "x", "exec")


def test_a_cell_magic_that_is_not_python_makes_the_cell_inert():
    assert all(line.startswith("#") for line in strip_ipython("%%bash\nls -l").splitlines())
    assert all(line.startswith("#") for line in strip_ipython("%%writefile x.py\nx = 1").splitlines())


def test_time_and_capture_cells_still_define_their_class():
    for magic in ("%%time", "%%capture out"):
        out = strip_ipython(f"{magic}\nclass Value:\n    pass\n")
        namespace = {}
        exec(compile(out, "cell", "exec"), namespace)
        assert "Value" in namespace and len(out.splitlines()) == 3


def test_valid_python_is_never_rewritten():
    """A continuation line may start with % (modulo) or ! never; Python that parses stays."""
    src = "x = (7\n     % 3)\ny = [1,\n     2]\n"
    assert strip_ipython(src) == src
    assert strip_ipython("def f():\n    !pip install graphviz\n").splitlines()[1].strip().startswith("pass")


def test_missing_path(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        read_submission(tmp_path / "nope.py")


def test_broken_notebook_names_the_file(tmp_path):
    bad = tmp_path / "hw.ipynb"
    bad.write_text("{ not json")
    with pytest.raises(SourceError, match="hw.ipynb: not a valid notebook"):
        read_submission(bad)


def test_wrong_extension(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("class Value: pass")
    with pytest.raises(SourceError, match="not a Python file"):
        read_submission(f)


def test_notebook_cells_keep_their_index(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# hi"), nbformat.v4.new_code_cell("%matplotlib inline\nx = 1")]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    sub = read_submission(path)
    assert [u.cell for u in sub.units] == [2]
    loc = sub.locate(sub.units[0].filename, 2)
    assert (loc.cell, loc.line, loc.text) == (2, 2, "x = 1")


def test_folder_picks_the_file_defining_the_class(tmp_path):
    (tmp_path / "helpers.py").write_text("def draw_dot(v):\n    pass\n")
    (tmp_path / "engine.py").write_text("class Value:\n    def __add__(s, o): pass\n    def __mul__(s, o): pass\n")
    assert read_submission(tmp_path).path.name == "engine.py"
    assert discover(tmp_path) == [tmp_path / "engine.py"]


def test_folder_without_a_class(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(SourceError, match="no .py or .ipynb file in it defines a Value-like class"):
        read_submission(tmp_path)


def test_notebook_json_with_list_sources_is_scored(tmp_path):
    doc = {"cells": [{"cell_type": "code", "source": ["class Value:\n", "    def __add__(s, o): pass\n"],
                      "metadata": {}, "outputs": [], "execution_count": None}],
           "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "x.ipynb").write_text(json.dumps(doc))
    assert discover(tmp_path) == [tmp_path / "x.ipynb"]


def test_a_symlinked_file_in_a_folder_is_never_the_submission(tmp_path):
    """A link to a classmate's fuller file must not be picked, nor copied."""
    (tmp_path / "m_correct.py").write_text(
        "class Value:\n" + "".join(f"    def {m}(self, o=None): return self\n" for m in
                                   ("__add__", "__mul__", "__sub__", "__neg__", "__pow__", "tanh", "exp",
                                    "relu", "log", "backward")))
    own = tmp_path / "a_link"
    own.mkdir()
    (own / "a.py").write_text("class Value:\n    def __add__(self, o): return self\n    def __mul__(self, o): return self\n")
    (own / "mate.py").symlink_to("../m_correct.py")
    sub = read_submission(own, None, False)
    assert [u.filename for u in sub.units] == ["/submission/a.py"]
    assert sorted(sub.files) == ["a.py"]


def _notebook(tmp_path, *cells):
    path = tmp_path / "lecture.ipynb"
    path.write_text(nbformat.writes(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in cells])))
    return read_submission(path)


FULL = ("class Value:\n    def __add__(self, o): pass\n    def __mul__(self, o): pass\n"
        "    def tanh(self): pass\n    def exp(self): pass\n")
SMALL = "x = 1\nclass Value:\n    def __add__(self, o): pass\n    def __mul__(self, o): pass\n"


def test_a_smaller_class_defined_last_is_not_the_one_kept(tmp_path):
    sub = _notebook(tmp_path, "import math", FULL, "v = Value()", SMALL)
    kept = sub.kept["Value"]
    assert (kept.cell, kept.line, kept.end) == (2, 1, 5) and kept.ops == {"add", "mul", "tanh", "exp"}
    assert [d.ops for d in sub.definitions["Value"]][1] == {"add", "mul"}
    # the worker is told which class statement to bind the name to again, by unit and line
    assert [u.get("keep_classes") for u in sub.wire_units()] == [None, [1], None, None]


def test_a_later_definition_as_full_as_an_earlier_one_is_checked(tmp_path):
    fixed = FULL.replace("def tanh(self): pass", "def tanh(self): return 1")
    assert _notebook(tmp_path, FULL, fixed).kept == {}
    assert _notebook(tmp_path, SMALL, FULL).kept == {}  # the lecture's way: each one fuller


def test_a_definition_counts_what_it_inherits_and_what_is_assigned_to_it(tmp_path):
    # `class Value(Value)` extends the one before; `Value.tanh = ...` adds to the latest
    sub = _notebook(tmp_path, SMALL, "def t(self): pass\nValue.tanh = t\nValue.exp = t",
                    "class Value(Value):\n    def relu(self): pass\n", SMALL)
    assert [d.ops for d in sub.definitions["Value"]] == [
        {"add", "mul", "tanh", "exp"}, {"add", "mul", "tanh", "exp", "relu"}, {"add", "mul"}]
    assert sub.kept["Value"].cell == 3


def test_classes_without_ops_are_never_rebound(tmp_path):
    sub = _notebook(tmp_path, "class Config:\n    lr = 0.1\n    def step(self): pass\n",
                    "class Config:\n    lr = 0.2\n")
    assert sub.kept == {}


EQ_ONLY = FULL + "    def __eq__(self, o): return self.data == o.data\n"


def test_a_class_with_eq_and_no_hash_is_hashed_by_identity_in_the_worker(tmp_path):
    sub = _notebook(tmp_path, EQ_ONLY, "v = 1")
    assert sub.definitions["Value"][0].unhashable
    assert [u.get("hash_by_identity") for u in sub.wire_units()] == [[1], None]
    # a `__hash__` of its own, one assigned afterwards, or a decorator (which may add one): not
    assert not _notebook(tmp_path, EQ_ONLY + "    def __hash__(self): return id(self)\n").definitions["Value"][0].unhashable
    assert not _notebook(tmp_path, EQ_ONLY, "Value.__hash__ = object.__hash__").definitions["Value"][0].unhashable
    assert not _notebook(tmp_path, "@total_ordering\n" + EQ_ONLY).definitions["Value"][0].unhashable


def test_a_plain_dataclass_node_is_unhashable_too(tmp_path):
    body = "class Value:\n    data: float\n    def __add__(self, o): pass\n"
    cases = {"@dataclass\n": "@dataclass", "@dataclasses.dataclass()\n": "@dataclass",
             "@dataclass(eq=False)\n": "", "@dataclass(frozen=True)\n": "", "@dataclass(unsafe_hash=True)\n": "",
             "@dataclass(eq=flag)\n": ""}  # decided at run time: not read as either
    assert {d: _notebook(tmp_path, d + body).definitions["Value"][0].unhashable for d in cases} == cases


def test_an_ipynb_that_is_python_is_read_as_python(tmp_path):
    """JupyterLab's .virtual_documents/*.ipynb hold the cells' code, not notebook JSON."""
    virtual = tmp_path / "lecture.ipynb"
    virtual.write_text("%matplotlib inline\nimport math\n\nclass Value:\n    def __add__(self, o): pass\n")
    sub = read_submission(virtual)
    assert sub.kind == "file" and sub.read_as and len(sub.units) == 1
    assert sub.units[0].code.splitlines()[3] == "class Value:"
    # text that is neither JSON nor a Python class stays a broken notebook
    virtual.write_text("not json, not python (")
    with pytest.raises(SourceError, match="not a valid notebook"):
        read_submission(virtual)


def test_a_package_s_own_imports_are_found_from_its_parent(tmp_path):
    """micrograd/engine.py importing `micrograd.walk`: the folder above the package is on the
    import path, and `micrograd` is the learner's own module (the guard allows it)."""
    package = tmp_path / "repo" / "micrograd"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "walk.py").write_text("def order(root): return [root]\n")
    (package / "engine.py").write_text("from micrograd.walk import order\n\nclass Value:\n"
                                       "    def __add__(self, o): pass\n    def __mul__(self, o): pass\n")
    sub = read_submission(tmp_path / "repo")
    assert sub.sys_path == ["micrograd", ""]
    assert sub.own_modules({"micrograd", "torch", "walk"}) == {"micrograd", "walk"}
    # a file alone: its own folder only, and nothing named like a library
    single = read_submission(package / "engine.py")
    assert single.sys_path == [""] and single.own_modules({"micrograd"}) == set()


def test_a_module_of_a_package_runs_as_part_of_it(tmp_path):
    package = tmp_path / "repo" / "mygrad"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "engine.py").write_text("from .walk import order\n\nclass Value:\n    def __add__(self, o): pass\n")
    sub = read_submission(tmp_path / "repo")
    assert sub.package == "mygrad" and sub.wire_units()[0]["package"] == "mygrad"
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "engine.py").write_text("class Value:\n    def __add__(self, o): pass\n")
    assert "package" not in read_submission(tmp_path / "flat").wire_units()[0]
