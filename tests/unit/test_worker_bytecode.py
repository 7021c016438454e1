"""The worker's modules reach each sandbox already compiled: one bytecode file per module, named
where this interpreter's import system looks beside the source, valid for this interpreter and
never checked against the source (the sandbox is read-only: a stale or unusable file would
silently bring back a compile of every module at every worker start)."""

import importlib.util
import marshal
from pathlib import Path

from gradcheck.sandbox import client

UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, not checked against the source


def test_each_worker_module_has_bytecode_where_the_import_system_looks():
    code = client._worker_bytecode()
    expected = {Path(importlib.util.cache_from_source(str(m))).name for m in client._WORKER_MODULES}
    assert len(expected) == len(client._WORKER_MODULES) >= 10
    assert set(code) == expected


def test_the_bytecode_is_this_interpreters_and_is_not_checked_against_the_source():
    for name, data in client._worker_bytecode().items():
        assert data[:4] == importlib.util.MAGIC_NUMBER, name
        assert int.from_bytes(data[4:8], "little") == UNCHECKED_HASH, name
        source = next(m for m in client._WORKER_MODULES if name.startswith(m.stem + "."))
        assert data[8:16] == importlib.util.source_hash(source.read_bytes()), name
        assert marshal.loads(data[16:]).co_filename.endswith(source.name)
