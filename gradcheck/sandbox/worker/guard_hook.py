"""The audit hook itself: for each audited event, the decision -- let it pass, report it, or
report and refuse it.

The hook runs on every audited event of the process, so it decides from the event name first and
does real work only for the few it watches. Who is asking (``guard_trust``), which paths are
allowed (``guard_paths``) and how an attempt is reported (``guard_report``) are built here, once,
by ``make_hook``; the hook keeps them all in its closure (see ``guard``).
"""

from __future__ import annotations

import _thread

from guard_paths import make_path_rules
from guard_policy import (
    ALWAYS_BLOCKED,
    CODE_EVENTS,
    FRAME_ATTRIBUTES,
    FROM_UNTRUSTED,
    FUNCTION_INTERNALS,
    PROCESS_INFORMATION,
    READ_EVENTS,
    WATCHED,
    WRITE_EVENTS,
    prepare,
)
from guard_report import make_reporting, make_text_of
from guard_trust import make_trust


def make_hook(policy, alarm_fd, recorded, blocked_error, import_error):
    """The hook for ``policy`` (see ``guard.install``). Attempts are appended to ``recorded``
    and written to ``alarm_fd``; a refusal raises ``blocked_error``, a refused import
    ``import_error``."""
    # ---- everything the hook uses is captured now, in its closure: rebinding these modules'
    # globals or monkeypatching os, os.path or json later changes nothing here
    watched, always_blocked, from_untrusted = WATCHED, ALWAYS_BLOCKED, FROM_UNTRUSTED
    frame_attributes, function_internals = FRAME_ATTRIBUTES, FUNCTION_INTERNALS
    code_events, read_events, write_events = CODE_EVENTS, dict(READ_EVENTS), dict(WRITE_EVENTS)
    process_information = PROCESS_INFORMATION
    get_ident = _thread.get_ident
    type_module = type.__dict__["__module__"].__get__

    def module_of_type(cls):
        """A class's module name, None when it has none (a C extension's class being built:
        the hook must never raise where the event is not refused)."""
        try:
            return type_module(cls)
        except BaseException:
            return None

    is_type = type.__instancecheck__.__get__(type)  # isinstance(x, type), whatever x claims
    function_type, code_type = type(make_hook), type(make_hook.__code__)
    str_type = str

    prepared = prepare(policy)
    submission_modules = prepared["submission_modules"]
    forbidden, forbidden_prefixes = prepared["forbidden"], prepared["forbidden_prefixes"]
    disarmed_modules = prepared["disarmed_modules"]
    native_modules, native_prefixes = prepared["native_modules"], prepared["native_prefixes"]
    look_through = prepared["look_through"]
    no_prefixes = ()

    text_of = make_text_of()
    pending, triggering_frame, trusted, requester, untrusted, where = make_trust(prepared, text_of)
    as_text, open_problem, listed_paths_problem = make_path_rules(prepared)
    report, block = make_reporting(alarm_fd, recorded, where, text_of, blocked_error)

    def hook(event, args):
        if event not in watched:
            return
        if event == "sys._getframe" and get_ident() in pending:
            return  # the hook looking at its own caller
        if event == "object.__getattr__":
            if len(args) < 2 or type(args[1]) is not str_type or args[1] not in frame_attributes:
                return
            frame = triggering_frame()
            if untrusted(requester(frame, no_prefixes)):
                block(event, (args[1],), frame, "frame access")
            return
        if event == "open":
            problem = open_problem(args)
            if problem:
                frame = triggering_frame()
                # libraries read their own process's maps and status (torch does at import);
                # the sandbox's environment is scrubbed, so only submission code is refused
                if problem is process_information and not untrusted(frame):
                    return
                block(event, args, frame, problem)
            return
        if event == "import":
            name = args[0] if args else None
            if type(name) is not str_type:
                return
            if name in forbidden or name.startswith(forbidden_prefixes):
                report(event, text_of(name), triggering_frame(), "forbidden-import")
                raise import_error("gradcheck forbids importing %s" % text_of(name), name=name)
            if name in disarmed_modules:
                block(event, args, triggering_frame(), "re-import of a disarmed module")
            if name in native_modules or name.startswith(native_prefixes):
                # numpy imports ctypes inside try/except and works without it: only untrusted
                # code asking for it is worth a report
                frame = triggering_frame()
                if untrusted(frame):
                    report(event, "native code: " + name, frame)
                raise import_error("gradcheck's sandbox has no %s" % name, name=name)
            return
        if event in always_blocked:
            block(event, args, triggering_frame(), "")
        if event in from_untrusted:
            frame = triggering_frame()
            if untrusted(requester(frame, look_through.get(event, no_prefixes))):
                block(event, args, frame, "from untrusted code")
            return
        if event in read_events or event in write_events:
            writing = event in write_events
            positions = write_events[event] if writing else read_events[event]
            problem = listed_paths_problem(args, positions, writing)
            if problem:
                block(event, args, triggering_frame(), problem)
            return
        if event in code_events:
            # untrusted code making code that claims a trusted file (to pass for library code)
            if event in ("function.__new__", "exec"):
                filename = args[0].co_filename if args and type(args[0]) is code_type else None
            else:
                filename = args[1] if len(args) > 1 else None
            if trusted(as_text(filename)):
                frame = triggering_frame()
                if untrusted(frame):
                    block(event, (filename,), frame, "code posing as library code")
            return
        if event in ("object.__setattr__", "object.__delattr__"):
            # replacing the code of a library (or worker) function
            if (len(args) > 1 and type(args[1]) is str_type and args[1] in function_internals
                    and type(args[0]) is function_type
                    and trusted(args[0].__code__.co_filename)):
                frame = triggering_frame()
                if untrusted(frame):
                    block(event, (args[1],), frame, "library function changed")
            # changing a class that is not the submission's own (the worker's, json's, numpy's):
            # ``Value.__radd__ = f`` is fine, ``Worker.run = f`` found by __subclasses__ is not
            elif args and is_type(args[0]):
                frame = triggering_frame()
                if untrusted(frame) and module_of_type(args[0]) not in submission_modules:
                    block(event, (args[1] if len(args) > 1 else "?",), frame, "class not its own changed")
            return

    return hook
