"""What is said about a refused attempt: a short, safe description of the event, one JSON line
on the alarm file descriptor per attempt (bounded), and the exception the caller gets.

The alarm line is written by hand, without ``json``: the submission may have replaced
``json.dumps``, and describing an event must never run the submission's code (``__repr__``).
Built by the factories below when the hook is installed (see ``guard``).
"""

from __future__ import annotations

import os

from guard_policy import DETAIL_LIMIT, MAX_REPORTS


def make_text_of():
    """``text_of(value)``: a short, safe description of an event argument."""
    str_type, bytes_type, int_type = str, bytes, int
    detail_limit = DETAIL_LIMIT
    type_name = type.__dict__["__name__"].__get__  # not a metaclass's __name__ property

    def text_of(value):
        """A short, safe description of an event argument: never runs the object's code."""
        kind = type(value)
        if kind is str_type:
            text = value
        elif kind is bytes_type:
            text = value[:detail_limit].decode("utf-8", "replace")
        elif kind in (int_type, float, bool) or value is None:
            try:
                text = repr(value)
            except ValueError:  # an int too long to print
                text = "<big number>"
        elif kind in (tuple, list):
            text = "(" + ", ".join(text_of(v) for v in value[:4]) + ")"
        else:
            text = "<" + type_name(kind) + ">"
        return text[:detail_limit]

    return text_of


def make_reporting(alarm_fd, recorded, where, text_of, blocked_error):
    """``(report, block)``: ``report`` records an attempt (in ``recorded`` and on ``alarm_fd``,
    at most MAX_REPORTS of them and then one "more" line); ``block`` reports it and raises
    ``blocked_error``."""
    write = os.write
    max_reports, detail_limit = MAX_REPORTS, DETAIL_LIMIT

    def json_text(text):
        out = ['"']
        for char in text:
            code = ord(char)
            if char in '"\\':
                out.append("\\" + char)
            elif 0x20 <= code < 0x7F:
                out.append(char)
            elif 0xD800 <= code < 0xE000:  # a lone surrogate: not valid text anywhere
                out.append("?")
            elif code > 0xFFFF:
                code -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
            else:
                out.append("\\u%04x" % code)
        out.append('"')
        return "".join(out)

    counts = [0]

    def report(event, detail, frame, kind="tampering"):
        """``kind`` is what the trusted side makes of it: "tampering", or "forbidden-import"
        (a library the policy forbids; a notebook's torch sanity cell is not tampering)."""
        try:
            counts[0] += 1
            if counts[0] > max_reports + 1:
                return
            if counts[0] == max_reports + 1:
                record = {"event": "more", "detail": "further attempts were not reported",
                          "where": None, "kind": kind}
            else:
                record = {"event": event, "detail": detail[:detail_limit], "where": where(frame),
                          "kind": kind}
            recorded.append(record)
            if alarm_fd is None:
                return
            spot = record["where"]
            line = '{"event": %s, "detail": %s, "where": %s, "kind": %s}\n' % (
                json_text(record["event"]), json_text(record["detail"]),
                "null" if spot is None else "[%s, %d]" % (json_text(spot[0]), spot[1]),
                json_text(kind))
            write(alarm_fd, line.encode("ascii"))
        except BaseException:  # reporting must never be what fails
            pass

    def block(event, args, frame, reason):
        detail = text_of(args[0]) if args else ""
        report(event, reason + ": " + detail if reason else detail, frame)
        raise blocked_error(1, "gradcheck blocked %s (%s)" % (event, reason or "not allowed"))

    return report, block
