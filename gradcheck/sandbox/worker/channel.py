"""The worker's end of the pipes to gradcheck: requests in, reply and progress frames out.

Kept apart from the handlers so that the framing (``protocol``) is used in exactly one place of
the worker. The JSON codec is ``protocol``'s, captured when it was imported, before any submission
runs: a submission that rebinds ``json.loads`` cannot change how requests are read.
"""

import protocol

_loads = protocol.loads


def read_request(stream):
    """One request from gradcheck (trusted), or None when the channel is closed."""
    header = _read_exact(stream, protocol.HEADER.size)
    if header is None:
        return None
    (size,) = protocol.HEADER.unpack(header)
    payload = _read_exact(stream, size)
    return None if payload is None else _loads(payload.decode())


def _read_exact(stream, size):
    chunks, got = [], 0
    while got < size:
        chunk = stream.read(size - got)  # a pipe hands over at most its capacity per read
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class Channel:
    """Writes frames that answer the request being handled (its ``seq``)."""

    def __init__(self, stream):
        self.stream = stream
        self.seq = None

    def send(self, kind, **fields):
        fields.update(seq=self.seq, kind=kind)
        self.stream.write(protocol.encode(fields))
        self.stream.flush()
