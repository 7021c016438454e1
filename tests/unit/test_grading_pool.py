"""Grading processes (``grade -j N``) are forked from a server that has already imported
gradcheck's checks and Hypothesis: none of them pays for those imports again."""

import threading
from concurrent.futures import ProcessPoolExecutor

from gradcheck.grading import batch
from gradcheck.runner import Options
from gradcheck.sandbox.limits import Limits


def test_a_grading_process_starts_with_gradcheck_and_hypothesis_imported():
    with ProcessPoolExecutor(max_workers=1, mp_context=batch._pool_context(Options())) as pool:
        # a builtin, so that running it imports nothing in the grading process
        loaded = pool.submit(eval, "sorted(__import__('sys').modules)").result()
    assert {"gradcheck.runner", "gradcheck.checks.property_search", "hypothesis"} <= set(loaded)
    assert "torch" not in loaded and "sympy" not in loaded  # only on need, as in one check


def test_no_fork_server_where_it_would_be_unsafe(monkeypatch):
    # one something else in this process started: it did not preload pool_server, so it would
    # not die with gradcheck
    monkeypatch.setattr(batch, "_OUR_SERVER", False)
    monkeypatch.setattr(batch.forkserver._forkserver, "_forkserver_pid", 12345)
    assert batch._pool_context(Options()).get_start_method() == "spawn"
    monkeypatch.undo()
    # a worker of limited isolation under gradcheck's own uid could connect to its socket
    monkeypatch.setattr(batch.os, "geteuid", lambda: 1000)
    assert batch._pool_context(Options(limits=Limits(isolation="limited"))).get_start_method() == "spawn"
    # its death signal belongs to the thread that started it
    found = []
    thread = threading.Thread(target=lambda: found.append(batch._pool_context(Options()).get_start_method()))
    thread.start()
    thread.join()
    assert found == ["spawn"]
