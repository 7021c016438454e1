"""The worker protocol: frames are capped before they are used, and every reply kind is held to
its schema; a violation says whether only code writing to the channel can explain it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradcheck.sandbox import protocol
from gradcheck.sandbox.protocol import ProtocolError, check_reply, decode, encode


def test_encode_then_decode_round_trips():
    msg = {"seq": "ab", "kind": "reply", "body": {"modules": ["math"]}}
    frame = encode(msg)
    (size,) = protocol.HEADER.unpack(frame[:4])
    assert size == len(frame) - 4
    assert decode(frame[4:]) == msg


# What the worker's replies carry: numbers of every kind (NaN and infinities included), text in
# any script, escapes, nesting, empty containers, null and booleans.
MESSAGE = {"seq": "9f", "kind": "reply", "body": {"results": [
    {"data": [1.0, -0.0, 1e300, 5e-324, float("nan"), float("inf"), float("-inf"), 7, -12],
     "grads": [None, True, False], "error": {"message": "caf\u00e9 \u2603 \"quoted\" \\ \n\t\x00 \U0001f600"}},
    {"data": [], "structure": {"inputs": [[], [0, 1]], "graph_nodes": {}}}]}}


def test_the_codec_writes_and_reads_what_json_does():
    """The frames are json.dumps(..., separators=(",", ":")) and json.loads of them, made with
    json's own C codec (the json module itself is not imported in the worker)."""
    text = protocol.dumps(MESSAGE)
    assert text == json.dumps(MESSAGE, separators=(",", ":"))
    assert json.dumps(protocol.loads(text), sort_keys=True) == json.dumps(json.loads(text), sort_keys=True)
    assert protocol.loads(text)["body"]["results"][0]["error"] == MESSAGE["body"]["results"][0]["error"]


def test_the_codec_without_jsons_c_half_is_json_itself():
    """An interpreter whose json has no C accelerator: the codec falls back to json."""
    probe = ("import json, sys; sys.modules['_json'] = None; sys.path.insert(0, sys.argv[1]); "
             "import protocol; m = json.loads(sys.argv[2]); "
             "print(protocol.dumps(m) == json.dumps(m, separators=(',', ':')), protocol.loads(protocol.dumps(m)) == m)")
    message = {"a": [1.5, None, "\u00e9", {"b": []}]}
    out = subprocess.run([sys.executable, "-I", "-c", probe, str(Path(protocol.__file__).parent), json.dumps(message)],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "True"], out.stderr


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"{not json", b"[" * 100_000 + b"]" * 100_000,
                                     b"", b'{"a": 1} {"b": 2}', b"[1,]", b"nul"])
def test_undecodable_payloads_are_forged(payload):
    with pytest.raises(ProtocolError) as info:
        decode(payload)
    assert info.value.forged


def test_nesting_beyond_the_cap_is_forged():
    value = 0
    for _ in range(protocol.MAX_DEPTH + 1):
        value = [value]
    with pytest.raises(ProtocolError) as info:
        decode(json.dumps(value).encode())
    assert info.value.forged
    ok = 0
    for _ in range(protocol.MAX_DEPTH):  # the number itself is MAX_DEPTH deep: the most allowed
        ok = [ok]
    assert decode(json.dumps(ok).encode()) == ok


@pytest.mark.parametrize("wrap", [lambda v: [v], lambda v: {"k": v}], ids=["list", "object"])
def test_the_nesting_cap_counts_the_innermost_number(wrap):
    value = 1.5
    for _ in range(protocol.MAX_DEPTH):
        value = wrap(value)
    assert decode(json.dumps(value).encode()) == value
    with pytest.raises(ProtocolError):
        decode(json.dumps(wrap(value)).encode())


def test_overlong_strings_are_forged():
    with pytest.raises(ProtocolError) as info:
        decode(json.dumps({"x": "a" * (protocol.MAX_STRING + 1)}).encode())
    assert info.value.forged


GOOD = {
    "load": {"units": [{"label": "engine.py", "errors": [
        {"type": "NameError", "message": "x", "where": ["/submission/engine.py", 3], "statement": 3}]}],
        "classes": [{"name": "Value", "ops": ["__add__"]}], "modules": ["math"]},
    "run": {"results": [{"data": [1.0, {"error": "not-a-number", "type": "str"}], "grads": [0.5, float("nan")],
                         "calls": [[0, 1.0]], "structure": {"inputs": [[1], []], "graph_nodes": [0, None]}}]},
    "local_rule": {"results": [{"data": 2.0, "grads": [1.0], "closures": [
        {"qualname": "Value.__mul__.<locals>._backward", "file": "/submission/engine.py", "line": 9}]}]},
    "modules": {"modules": ["math", "os"]},
    "inspect": {"class_attrs": {}, "module": "submission", "leaf_vars": {}, "inputs_paths": ["_prev"]},
}


@pytest.mark.parametrize("command", sorted(GOOD))
def test_each_honest_reply_kind_passes(command):
    check_reply(command, GOOD[command])


@pytest.mark.parametrize("command, body", [
    ("run", {"results": "all good"}),
    ("run", {"results": [{"data": ["1.0"]}]}),  # a number as text
    ("run", {"results": [{"data": [True]}]}),  # a bool is not a number
    ("local_rule", {"results": [{"closures": [{"qualname": 3}]}]}),
    ("modules", {"modules": ["math"], "verdict": "pass"}),  # a field no reply has
    ("load", {"units": [{"label": "x", "errors": [{"type": "E", "where": [[1]]}]}]}),
])
def test_replies_of_the_wrong_shape_are_malformed(command, body):
    with pytest.raises(ProtocolError) as info:
        check_reply(command, body)
    assert not info.value.forged


def test_a_reply_to_an_unknown_request_is_refused():
    with pytest.raises(ProtocolError):
        check_reply("grade_me", {})
