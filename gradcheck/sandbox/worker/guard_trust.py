"""Who is asking: the frame behind an audited event, and whether its code is trusted.

"Untrusted" code is any code whose file is not under a trusted folder (see
``guard_policy.prepare``): the submission's files and cells, but also ``exec``'d strings and
generated code. Library code may keep using frames and tracing; a few standard functions whose
job is to hand frames to their caller (``inspect.stack``, ``traceback.walk_tb``...) are looked
through and judged by who called them.

Everything is built by ``make_trust`` when the hook is installed and kept in closures, from
built-ins captured then (see ``guard``).
"""

from __future__ import annotations

import _thread
import sys


def make_trust(prepared, text_of):
    """The frame and trust helpers over a prepared policy, as a tuple: ``pending`` (threads whose
    next ``sys._getframe`` event is the hook's own), ``triggering_frame``, ``trusted``,
    ``requester``, ``untrusted`` and ``where``."""
    getframe = sys._getframe
    get_ident = _thread.get_ident
    str_type, int_type = str, int
    submission_files = prepared["submission_files"]
    trusted_prefixes = prepared["trusted_prefixes"]
    untrusted_prefixes = prepared["untrusted_prefixes"]
    frame_handing = prepared["frame_handing"]
    pending = set()  # threads whose next sys._getframe is the hook's own

    def triggering_frame():
        """The frame of the code that raised the event (skipping this helper and the hook)."""
        ident = get_ident()
        pending.add(ident)
        try:
            return getframe(2)
        finally:
            pending.discard(ident)

    def longest(filename, prefixes):
        best = 0
        for prefix in prefixes:
            if len(prefix) > best and filename.startswith(prefix):
                best = len(prefix)
        return best

    def trusted(filename):
        """Library code: under a trusted folder, and under no untrusted one nested deeper (a
        virtualenv may live below /tmp, which is also the scratch: its files stay trusted, a
        file the submission writes to /tmp does not)."""
        if type(filename) is not str_type or filename in submission_files:
            return False
        return longest(filename, trusted_prefixes) > longest(filename, untrusted_prefixes)

    def requester(frame, through):
        """The frame on whose behalf the event happens: frame-handing helpers (and, for some
        events, a whole package such as ctypes) are looked through to their caller."""
        for _ in range(64):
            if frame is None:
                return None
            code = frame.f_code
            filename = code.co_filename
            if type(filename) is str_type and ((filename, code.co_name) in frame_handing
                                               or filename.startswith(through)):
                frame = frame.f_back
                continue
            return frame
        return frame

    def untrusted(frame):
        return frame is not None and not trusted(frame.f_code.co_filename)

    def where(frame):
        """[filename, line] of the innermost untrusted frame from ``frame`` outwards, or None."""
        for _ in range(64):
            if frame is None:
                return None
            if untrusted(frame):
                line = frame.f_lineno
                return [text_of(frame.f_code.co_filename), line if type(line) is int_type else 0]
            frame = frame.f_back
        return None

    return pending, triggering_frame, trusted, requester, untrusted, where
