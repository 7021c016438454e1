"""The wire between gradcheck and its worker: frames, message kinds and the shape of every reply.

Shared by both sides and therefore standard library only, in the Python 3.8 subset (the worker
may run under another interpreter given with ``--python``).

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON. Every request carries
a random ``seq`` the worker echoes; a reply is ``{"seq", "kind": "reply", "body"}`` and, while
loading, ``{"seq", "kind": "progress", "unit", "stmt"}`` frames announce the statement about to
run (so a statement that kills the interpreter can be skipped on restart without any file);
while inspecting, ``{"seq", "kind": "progress", "op"}`` frames announce the op about to be
called for the first time (so an op that kills it is known without calling it again).

The trusted side believes nothing it reads: ``decode`` caps size and nesting before a value is
used, and ``check_reply`` holds each reply body to the schema of its request. Anything else is a
``ProtocolError``: the submission wrote to the channel (``forged``) or the reply does not have
the shape the worker always sends (``malformed``).
"""

import struct

HEADER = struct.Struct(">I")
MAX_REPLY_BYTES = 8 << 20  # the largest honest reply (a run of many graphs) is well under 1 MB
MAX_REQUEST_BYTES = 256 << 20
MAX_DEPTH = 12  # honest replies nest at most 6 deep
MAX_STRING = 4096  # honest strings are capped at 300 characters by the worker


class ProtocolError(Exception):
    """A frame or reply the worker would never send. ``forged`` when only code writing to the
    channel itself can explain it (bad framing, wrong seq, oversize), else ``malformed``."""

    def __init__(self, detail, forged):
        Exception.__init__(self, detail)
        self.detail = detail
        self.forged = forged


# ------------------------------------------------------------------------------- JSON codec
# json's own C encoder and scanner, made here as ``json.dumps(obj, separators=(",", ":"))`` and
# ``json.loads`` make them: importing ``json`` would also import ``re`` and ``enum``, a fifth of
# the worker's start, for nothing else. An interpreter without them uses ``json`` itself. Both
# are captured now: the submission shares the worker's modules and may rebind what they hold.
try:
    from _json import encode_basestring_ascii, make_encoder, make_scanner
except ImportError:
    make_encoder = None


class _Scanning:
    """What the C scanner reads from its context: the settings of ``json.loads``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.__getitem__


if make_encoder is not None:
    # (markers=None: no check for cycles, which a message never has; NaN and infinities allowed)
    _encoder = make_encoder(None, None, encode_basestring_ascii, None, ":", ",", False, False, True)
    _scanner = make_scanner(_Scanning())

    def dumps(obj):
        chunks = _encoder(obj, 0)
        return chunks if isinstance(chunks, str) else "".join(chunks)

    def loads(text):
        """The one JSON value ``text`` holds, and nothing after it (ValueError otherwise)."""
        try:
            value, end = _scanner(text, 0)
        except StopIteration:  # no value starts there
            raise ValueError("not a JSON value") from None
        if end != len(text):
            raise ValueError("data after the JSON value")
        return value
else:  # (tests/unit/test_protocol.py runs this by hiding _json)
    import json

    loads = json.loads

    def dumps(obj, _dumps=json.dumps):
        return _dumps(obj, allow_nan=True, separators=(",", ":"))


def encode(obj):
    payload = dumps(obj).encode()
    return HEADER.pack(len(payload)) + payload


def decode(payload):
    """The JSON value in a frame's payload, with nesting and string length checked."""
    try:
        value = loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError("a frame that is not JSON (%s)" % type(exc).__name__,
                            forged=True) from None
    _check_depth(value, 0)
    return value


_SCALARS = (float, int, bool, type(None))


def _check_depth(value, depth):
    # decoded JSON holds exactly these types (no subclasses); the numbers, most of every reply,
    # are passed over without a call (a container's items are one level deeper than it)
    if depth > MAX_DEPTH:
        raise ProtocolError("a frame nested more than %d deep" % MAX_DEPTH, forged=True)
    kind = type(value)
    if kind is str:
        if len(value) > MAX_STRING:
            raise ProtocolError("a string of %d characters" % len(value), forged=True)
        return
    if kind is not dict and kind is not list:
        return
    if value and depth >= MAX_DEPTH:
        raise ProtocolError("a frame nested more than %d deep" % MAX_DEPTH, forged=True)
    if kind is dict:
        for k, v in value.items():
            _check_depth(k, depth + 1)
            if type(v) not in _SCALARS:
                _check_depth(v, depth + 1)
    else:
        for v in value:
            if type(v) not in _SCALARS:
                _check_depth(v, depth + 1)


# ------------------------------------------------------------------------------------ schema
# A schema is a type (str, int, float, bool: float accepts ints, int refuses bools), a list of
# one schema (every item), a dict of key -> schema (a key may be missing; unknown keys are
# refused), or one of the helpers below.

class Opt:
    """The value may also be null."""

    def __init__(self, schema):
        self.schema = schema


class Either:
    def __init__(self, *schemas):
        self.schemas = schemas


class Anything:
    """Free-form data the trusted side parses defensively itself (capped by depth anyway)."""


class MapOf:
    """An object with any string keys, every value of one schema."""

    def __init__(self, schema):
        self.schema = schema


WHERE = Opt([Opt(Either(str, int))])
ERROR = {"type": str, "message": str, "where": WHERE, "stage": str, "statement": Opt(int),
         "text": str, "name": str}  # name: a NameError's undefined name
NUMBER_OR_ERROR = Either(float, {"error": str, "type": str, "message": str})
CODE_ID = {"qualname": str, "file": Opt(str), "line": Opt(int)}
RUN_RESULT = {"data": [NUMBER_OR_ERROR], "grads": [NUMBER_OR_ERROR], "error": ERROR,
              "calls": [[Either(int, NUMBER_OR_ERROR)]],
              "structure": {"inputs": [[int]], "graph_nodes": [Opt(int)]}}
RULE_RESULT = {"data": NUMBER_OR_ERROR, "grads": [NUMBER_OR_ERROR], "error": ERROR,
               "closures": [CODE_ID]}
TAMPERING = [{"event": str, "detail": str, "where": WHERE, "kind": str}]
# an alarm line's kind: a library the policy forbids (a notebook's torch cell), else "tampering"
FORBIDDEN_IMPORT = "forbidden-import"

CLASS_FACTS = {"name": str, "ops": [str], "number_attrs": [str], "construct_error": ERROR,
               "imported_from": str}
CLASS_ATTR = {"kind": str, "qualname": str, "file": Opt(str), "line": Opt(int),
              "required_args": Opt(int)}
NUMBER_OR_TYPE = Either(float, str)
# what an op's result holds (reflection/probing.py), and what calling a candidate driver changed
OP_PROBE = {"op": str, "error": str, "vars": MapOf(NUMBER_OR_TYPE), "callables": MapOf(CODE_ID),
            "inputs_paths": [str], "is_operand": bool, "reaches": [str], "inner_none": [str]}
DRIVER_PROBE = {"method": str, "error": str, "out_after": MapOf(float), "operand_changed": [str]}

REPLIES = {
    "load": {"units": [{"label": str, "errors": [ERROR]}], "classes": [CLASS_FACTS],
             "modules": [str], "fatal": ERROR, "tampering": TAMPERING},
    "inspect": {"class_attrs": MapOf(CLASS_ATTR), "module": str, "leaf_vars": MapOf(NUMBER_OR_TYPE),
                "itemsizes": MapOf(int), "out_vars": MapOf(NUMBER_OR_TYPE), "inputs_paths": [str],
                "callables": MapOf(CODE_ID), "leaf_callables": MapOf(CODE_ID),
                "probes": [OP_PROBE], "identity": {"merged": bool, "equal": bool, "unhashable": bool},
                "drivers": [DRIVER_PROBE],
                "fatal": ERROR, "tampering": TAMPERING},
    "run": {"results": [RUN_RESULT], "fatal": ERROR, "tampering": TAMPERING},
    "local_rule": {"results": [RULE_RESULT], "fatal": ERROR, "tampering": TAMPERING},
    "modules": {"modules": [str], "fatal": ERROR, "tampering": TAMPERING},
}


def check_alarm(entry):
    """Raise ``ProtocolError`` unless ``entry`` is one line the guard writes on its channel."""
    _check(entry, TAMPERING[0], "alarm")


def check_reply(command, body):
    """Raise ``ProtocolError`` unless ``body`` has the shape a reply to ``command`` has."""
    schema = REPLIES.get(command)
    if schema is None:
        raise ProtocolError("a reply to an unknown request %r" % command, forged=False)
    _check(body, schema, command)


def _takes_float(schema):
    """Whether a float is valid wherever ``schema`` is expected."""
    if isinstance(schema, Opt):
        schema = schema.schema
    return schema is float or (isinstance(schema, Either) and float in schema.schemas)


def _check(value, schema, path):
    if isinstance(schema, Opt):
        if value is None:
            return
        schema = schema.schema
    if schema is Anything:
        return
    if isinstance(schema, MapOf):
        if not isinstance(value, dict):
            raise ProtocolError("%s: expected an object" % path, forged=False)
        for key, item in value.items():
            _check(item, schema.schema, "%s.%s" % (path, str(key)[:40]))
        return
    if isinstance(schema, Either):
        for option in schema.schemas:
            try:
                _check(value, option, path)
                return
            except ProtocolError:
                continue
        raise ProtocolError("%s: unexpected %s" % (path, type(value).__name__), forged=False)
    if isinstance(schema, list):
        if not isinstance(value, list):
            raise ProtocolError("%s: expected a list" % path, forged=False)
        item_schema = schema[0]
        numbers = _takes_float(item_schema)
        for i, item in enumerate(value):
            if numbers and type(item) is float:  # most of a reply: checked without a path
                continue
            _check(item, item_schema, "%s[%d]" % (path, i))
        return
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise ProtocolError("%s: expected an object" % path, forged=False)
        for key, item in value.items():
            if key not in schema:
                raise ProtocolError("%s: unexpected field %r" % (path, key[:40]), forged=False)
            _check(item, schema[key], "%s.%s" % (path, key))
        return
    if schema is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)  # NaN/inf too
    elif schema is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, schema)
    if not ok:
        raise ProtocolError("%s: expected %s, got %s" % (path, schema.__name__, type(value).__name__),
                            forged=False)
