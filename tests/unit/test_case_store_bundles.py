"""The case store on its own: what is saved is read back bit for bit, concurrent saves lose
nothing, a process parses a bundle once until another process rewrites it, a damaged file is a
miss, the size limit holds, and a secret seed is never written."""

import gzip
import json
import multiprocessing
import os
import time

import gradcheck.case_store as case_store
from gradcheck.case_store import Bundle, CaseStore, bundle_name, read_bundle, write_bundle
from gradcheck.checks import CheckSettings
from gradcheck.checks.property_search import generated
from gradcheck.graph import Graph, apply, leaf
from gradcheck.oracles.consensus import Consensus

OPS = ["add", "mul", "tanh", "pow", "sub"]
SETTINGS = CheckSettings(examples=30)


def _graphs() -> tuple[Graph, ...]:
    return generated(OPS, None, SETTINGS)


def test_sequences_and_answers_read_back_exactly(tmp_path):
    graphs = _graphs()
    consensus = Consensus.default()
    answers = {g: consensus._evaluate(g) for g in graphs}
    assert sum(a is not None for a, _ in answers.values()) >= 25  # real answers, not discards
    store = CaseStore(tmp_path, shipped=None)
    bundle = store.open(OPS, SETTINGS.examples, SETTINGS.max_ops, None)
    bundle.keep_sequence(OPS, None, graphs)
    for g, a in answers.items():
        bundle.keep_answer(g, a)
    store.save(bundle)

    again = read_bundle(tmp_path / bundle.name)  # from the file, not this process's copy
    assert again is not None and again is not bundle
    assert again.sequence(OPS, None) == graphs
    assert again.sequence(OPS, "mul") is None
    for g, a in answers.items():
        assert again.answer(g) == a  # floats compare exactly: == on every list
    assert again.added == 0


def test_a_consensus_with_a_bundle_never_asks_an_oracle_for_a_stored_answer(tmp_path):
    graphs = _graphs()[:10]
    first = Consensus.default()
    bundle = Bundle("b" + ".json.gz")
    with first.using(bundle):
        expected = [first.expected(g) for g in graphs]
    assert len(bundle.answers) == len(graphs)

    second = Consensus(oracle_names=("no-such-oracle",))  # any oracle use would raise
    with second.using(bundle):
        assert [second.expected(g) for g in graphs] == expected
    assert second._oracles is None


def _save_many(directory, worker: int) -> None:
    store = CaseStore(directory, shipped=None)
    for i in range(20):
        bundle = store.open(["add"], 100, 10, None)
        g = Graph((leaf(worker + i / 100), leaf(1.0), apply("add", 0, 1)))
        bundle.keep_answer(g, (None, f"worker {worker} entry {i}"))
        store.save(bundle)


def test_concurrent_saves_lose_no_entry(tmp_path):
    procs = [multiprocessing.get_context("fork").Process(target=_save_many, args=(tmp_path, w))
             for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    bundle = CaseStore(tmp_path, shipped=None).open(["add"], 100, 10, None)
    assert len(bundle.answers) == 60
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_process_parses_a_bundle_once_until_another_process_rewrites_it(tmp_path, monkeypatch):
    reads = []
    monkeypatch.setattr(case_store, "read_bundle", lambda path: reads.append(path) or read_bundle(path))
    store = CaseStore(tmp_path, shipped=None)
    first = store.open(["add"], 100, 10, None)
    first.keep_answer(Graph((leaf(1.0), leaf(2.0), apply("add", 0, 1))), (None, "mine"))
    store.save(first)
    before = len(reads)
    assert store.open(["add"], 100, 10, None) is first
    assert store.open(["add"], 100, 10, None) is first
    assert len(reads) == before  # the file is still the one this process wrote: not parsed again

    # another process saves its own entry in the meantime (a new file under the same name)
    theirs = Bundle(first.name)
    theirs.keep_answer(Graph((leaf(3.0), leaf(2.0), apply("add", 0, 1))), (None, "theirs"))
    write_bundle(theirs, tmp_path / first.name)
    again = store.open(["add"], 100, 10, None)
    assert len(reads) == before + 1 and again is not first
    assert [reason for _, reason in again.answers.values()] == ["theirs"]

    # and a save merges what the other process wrote after this one last read the file
    theirs.keep_answer(Graph((leaf(4.0), leaf(2.0), apply("add", 0, 1))), (None, "later"))
    write_bundle(theirs, tmp_path / first.name)
    again.keep_answer(Graph((leaf(5.0), leaf(2.0), apply("add", 0, 1))), (None, "mine again"))
    store.save(again)
    on_disk = read_bundle(tmp_path / first.name)
    assert sorted(reason for _, reason in on_disk.answers.values()) == ["later", "mine again", "theirs"]


def test_opening_a_bundle_touches_it_only_when_its_last_use_is_old(tmp_path):
    # an open that changed the file at every check would make every other grading process
    # parse the bundle again (its identity includes the modification time)
    store = CaseStore(tmp_path, shipped=None)
    bundle = store.open(["add"], 100, 10, None)
    bundle.keep_answer(Graph((leaf(1.0), leaf(2.0), apply("add", 0, 1))), (None, "x"))
    store.save(bundle)
    path = tmp_path / bundle.name
    recent = path.stat().st_mtime_ns
    store.open(["add"], 100, 10, None)
    assert path.stat().st_mtime_ns == recent
    old = time.time() - 2 * case_store._TOUCH_AFTER_SECONDS
    os.utime(path, (old, old))
    store.open(["add"], 100, 10, None)
    assert path.stat().st_mtime > time.time() - 60  # marked as used now: kept longest


def test_a_damaged_bundle_is_a_miss_and_is_replaced(tmp_path):
    store = CaseStore(tmp_path, shipped=None)
    name = bundle_name(["add"], 100, 10, None)
    (tmp_path / name).write_bytes(b"\x1f\x8b not really gzip")
    assert read_bundle(tmp_path / name) is None
    bundle = store.open(["add"], 100, 10, None)
    assert bundle.answers == {}
    bundle.keep_answer(Graph((leaf(1.0), leaf(2.0), apply("add", 0, 1))), (None, "x"))
    store.save(bundle)
    assert len(read_bundle(tmp_path / name).answers) == 1


def test_the_size_limit_removes_the_least_recently_used_bundles(tmp_path):
    store = CaseStore(tmp_path, shipped=None, limit_bytes=2_500)
    names = []
    for n in range(6):
        bundle = store.open(["add"], 100 + n, 10, None)
        for i in range(30):  # ~1 kB compressed each
            bundle.keep_answer(Graph((leaf(n + i * 0.123456789), leaf(2.0), apply("add", 0, 1))),
                               (None, os.urandom(8).hex()))
        store.save(bundle)
        names.append(bundle.name)
        old = time.time() - 100 + n
        os.utime(tmp_path / bundle.name, (old, old))
    kept = sorted(p.name for p in store.bundles())
    assert sum((tmp_path / n).stat().st_size for n in kept) <= 2_500
    assert names[-1] in kept and names[0] not in kept
    assert kept == sorted(names[len(names) - len(kept):])  # the newest ones survive


def test_a_secret_seed_is_not_written_into_the_store(tmp_path):
    store = CaseStore(tmp_path, shipped=None)
    seed = 987654321
    bundle = store.open(["add"], 100, 10, seed)
    bundle.keep_answer(Graph((leaf(1.0), leaf(2.0), apply("add", 0, 1))), (None, "x"))
    store.save(bundle)
    assert bundle_name(["add"], 100, 10, seed) != bundle_name(["add"], 100, 10, None)
    (path,) = store.bundles()
    text = gzip.decompress(path.read_bytes()).decode()
    assert str(seed) not in text and str(seed) not in path.name
    assert json.loads(text)["format"] == case_store.FORMAT


def test_nothing_is_written_without_a_directory_or_without_news(tmp_path):
    CaseStore(None).save(Bundle("x.json.gz", added=3))
    store = CaseStore(tmp_path / "sub", shipped=None)
    store.save(store.open(["add"], 100, 10, None))  # nothing added: no file, no folder
    assert not (tmp_path / "sub").exists()


def test_reading_a_bundle_decodes_only_what_is_asked_for(tmp_path, monkeypatch):
    # a check uses a few hundred of a bundle's thousands of graphs: decoding all of them at
    # every read was two thirds of the time a grading process spent reading bundles
    graphs = _graphs()
    bundle = Bundle(bundle_name(OPS, 30, 10, None))
    bundle.keep_sequence(OPS, None, graphs)
    bundle.keep_sequence(OPS, "mul", graphs[:5])
    for g in graphs:
        bundle.keep_answer(g, (None, "discarded"))
    write_bundle(bundle, tmp_path / bundle.name)
    decoded, answers = [], []
    monkeypatch.setattr(case_store, "graph_from_json",
                        lambda data: decoded.append(data) or case_store.codec.graph_from_json(data))
    monkeypatch.setattr(case_store, "answer_from_json",
                        lambda data: answers.append(data) or case_store.codec.answer_from_json(data))
    again = read_bundle(tmp_path / bundle.name)
    assert decoded == [] and answers == []
    assert again.sequence(OPS, "mul") == graphs[:5] and len(decoded) == 5
    assert again.answer(graphs[7]) == (None, "discarded") and len(decoded) == 5 and len(answers) == 1
    assert again.to_json() == bundle.to_json()  # what is saved again is what was read


def test_a_damaged_entry_is_a_miss(tmp_path):
    graphs = _graphs()[:3]
    bundle = Bundle(bundle_name(OPS, 30, 10, None))
    bundle.keep_sequence(OPS, None, graphs)
    bundle.keep_answer(graphs[0], (None, "x"))
    data = bundle.to_json()
    stored = json.loads(data["sequences"][0][2])
    stored[1] = ["not", "a", "graph"]
    data["sequences"][0][2] = json.dumps(stored)
    data["answers"][0][1] = json.dumps({"values": [1.0]})  # neither an answer nor a discard
    data["answers"].append(["[" * 100_000, "{}"])  # nested past the parser's recursion limit
    data["answers"].append([json.dumps([["add", [0, 0], None, 1.0]]), "[" * 100_000])
    again = Bundle.from_json(bundle.name, data)
    assert again.sequence(OPS, None) is None and again.answer(graphs[0]) is None
    assert again.answers == {}
    again.keep_sequence(OPS, None, graphs)  # and the check's own replaces it
    assert again.sequence(OPS, None) == graphs and again.added == 1
