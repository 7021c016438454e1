"""A marimo notebook (a .py of @app.cell functions) read as units, one per cell, that keep the
file's line numbers and run in the order marimo would run them. The units are run here, in the
test process, only because they are this test's own code."""

import textwrap

from gradcheck.loader import read_submission

NOTEBOOK = textwrap.dedent('''\
    import marimo

    __generated_with = "0.9.14"
    app = marimo.App(width="medium")


    @app.cell
    def _(Node, math):
        class Value(Node):
            squash = staticmethod(math.tanh)

            def __init__(self, data):
                self.data = data
        return (Value,)


    @app.cell
    def base():
        import math

        class Node:
            """A docstring
    whose second line is not indented."""
        return Node, math


    @app.cell
    def _(Value):
        v = Value(0.5); w = Value(2.0)
        return


    if __name__ == "__main__":
        app.run()
    ''')


def units_of(tmp_path, source=NOTEBOOK, name="nb.py"):
    path = tmp_path / name
    path.write_text(source)
    return read_submission(path)


def run(units) -> dict:
    namespace = {}
    for unit in units:
        exec(compile(unit.code, unit.filename, "exec"), namespace)
    return namespace


def test_each_cell_is_a_unit_run_after_the_cells_defining_what_it_uses(tmp_path):
    sub = units_of(tmp_path)
    assert sub.kind == "notebook"
    # the Value cell comes first in the file but uses Node and math from the second cell
    assert [u.label for u in sub.units] == ["line 3", "cell 2 `base` (line 18)",
                                            "cell 1 (line 8)", "cell 3 (line 28)"]
    namespace = run(sub.units)
    assert namespace["Value"].__mro__[1] is namespace["Node"]
    assert namespace["w"].data == 2.0 and namespace["Value"].squash(0.0) == 0.0
    assert namespace["Node"].__doc__.endswith("\nwhose second line is not indented.")


def test_a_cell_keeps_the_file_s_line_numbers_and_shows_the_file_s_lines(tmp_path):
    sub = units_of(tmp_path)
    cell = next(u for u in sub.units if u.label.startswith("cell 1"))
    lines = cell.code.splitlines()
    assert lines[8] == "class Value(Node):" and lines[11] == "    def __init__(self, data):"
    assert "return" not in cell.code and "marimo" not in cell.code
    loc = sub.locate(cell.filename, 13)
    assert (loc.file, loc.line, loc.cell, loc.text) == (str(tmp_path / "nb.py"), 13, None,
                                                       "self.data = data")
    shown = dict(sub.with_context(loc, around=1).context)
    assert shown == {12: "        def __init__(self, data):", 13: "            self.data = data",
                     14: "    return (Value,)"}


def test_nothing_of_marimo_is_run(tmp_path):
    """marimo is not in the sandbox: its import, the App and the `app.run()` guard are left out."""
    code = "\n".join(u.code for u in units_of(tmp_path).units)
    assert "marimo" not in code and "app" not in code


def test_setup_block_and_shared_functions(tmp_path):
    source = textwrap.dedent('''\
        import marimo

        app = marimo.App()

        with app.setup:
            import functools
            import math


        @app.cell
        def _():
            y = double(math.e)
            return (y,)


        @app.function(hide_code=True)
        @functools.lru_cache
        def double(x):
            return 2 * x
        ''')
    sub = units_of(tmp_path, source)
    assert [u.label.split(" (")[0] for u in sub.units] == ["setup", "`double`", "cell 1"]
    namespace = run(sub.units)
    assert abs(namespace["y"] - 5.43656365691809) < 1e-12
    assert namespace["double"].cache_info().currsize == 1  # its own decorator is kept


def test_an_async_cell_runs_without_what_needs_a_function(tmp_path):
    source = textwrap.dedent('''\
        import marimo
        app = marimo.App()

        @app.cell
        async def _():
            import asyncio
            await asyncio.sleep(0)
            w = [i async for i in asyncio.as_completed([])]
            z = 3
            return (z,)
        ''')
    (unit,) = units_of(tmp_path, source).units
    namespace = run([unit])
    assert "await" not in unit.code and "w" not in namespace and namespace["z"] == 3


def test_a_cycle_which_marimo_refuses_still_runs_every_cell_once(tmp_path):
    source = textwrap.dedent('''\
        import marimo
        app = marimo.App()

        @app.cell
        def _(b):
            a = 1
            return (a,)

        @app.cell
        def _(a):
            b = 2
            return (b,)
        ''')
    assert [u.label for u in units_of(tmp_path, source).units] == ["cell 1 (line 5)", "cell 2 (line 10)"]


def test_a_file_that_only_imports_marimo_is_a_plain_file(tmp_path):
    source = "import marimo\n\nclass Value:\n    pass\n"
    sub = units_of(tmp_path, source)
    assert sub.kind == "file" and len(sub.units) == 1 and sub.units[0].code == source


def test_a_return_sharing_a_line_with_code_is_dropped_alone(tmp_path):
    """`return` outside a function does not compile: none may be left in a unit."""
    source = ("import marimo\napp = marimo.App()\n\n@app.cell\ndef _(): x = 1; return (x,)\n\n"
              "@app.cell\ndef _(x):\n    y = x + 1; return (\n        y,\n    )\n")
    namespace = run(units_of(tmp_path, source).units)
    assert (namespace["x"], namespace["y"]) == (1, 2)
