"""Grading processes (``grade -j N``) are forked from a server that has already imported
gradcheck's checks and Hypothesis: none of them pays for those imports again."""

from concurrent.futures import ProcessPoolExecutor

from gradcheck.grading import batch


def test_a_grading_process_starts_with_gradcheck_and_hypothesis_imported():
    with ProcessPoolExecutor(max_workers=1, mp_context=batch._pool_context()) as pool:
        # a builtin, so that running it imports nothing in the grading process
        loaded = pool.submit(eval, "sorted(__import__('sys').modules)").result()
    assert {"gradcheck.runner", "gradcheck.checks.property_search", "hypothesis"} <= set(loaded)
    assert "torch" not in loaded and "sympy" not in loaded  # only on need, as in one check
