"""Which file accesses the policy allows: paths resolved as the kernel would (symbolic links
followed, ``dir_fd`` relative paths included) and checked against the scratch, the writable
files, the readable folders and the few device files a library needs.

Built by ``make_path_rules`` when the hook is installed, from built-ins captured then: a
submission that replaces ``os.path.realpath`` or ``os.lstat`` later changes nothing here.
"""

from __future__ import annotations

import os
import sys

from guard_policy import DEVICES_READ_ONLY, DEVICES_READ_WRITE, PROCESS_INFORMATION, WRITE_FLAGS


def make_path_rules(prepared):
    """``(as_text, open_problem, listed_paths_problem)``: each problem function returns None
    when the access is allowed, else a short reason (``PROCESS_INFORMATION`` for /proc/<pid>,
    which the hook judges by who asks)."""
    lstat, readlink, getcwd = os.lstat, os.readlink, os.getcwd
    fs_encoding = sys.getfilesystemencoding()
    str_type, bytes_type, int_type = str, bytes, int
    devices_read_write, devices_read_only = DEVICES_READ_WRITE, DEVICES_READ_ONLY
    write_flags, process_information = WRITE_FLAGS, PROCESS_INFORMATION
    scratch_set, scratch_prefixes = prepared["scratch_set"], prepared["scratch_prefixes"]
    readable_set, readable_prefixes = prepared["readable_set"], prepared["readable_prefixes"]
    writable_files, readable_files = prepared["writable_files"], prepared["readable_files"]
    open_fds = prepared["open_fds"]
    denied_set, denied_prefixes = prepared["denied_set"], prepared["denied_prefixes"]

    def as_text(path):
        kind = type(path)
        if kind is str_type:
            return path
        if kind is bytes_type:
            return path.decode(fs_encoding, "surrogateescape")
        return None

    def resolve(path, dir_fd, follow):
        """The absolute path, with every symbolic link followed when ``follow`` (like
        os.path.realpath, but built only on captured built-ins). A missing component is kept as
        written. None if unresolvable."""
        if not path.startswith("/"):
            if dir_fd is None or (type(dir_fd) is int_type and dir_fd < 0):  # -1: no dir_fd
                base = getcwd()
            elif type(dir_fd) is int_type:
                try:
                    base = readlink("/proc/self/fd/%d" % dir_fd)
                except OSError:
                    return None
            else:
                return None
            path = base + "/" + path
        todo = path.split("/")[::-1]
        parts = []
        hops = 0
        while todo:
            name = todo.pop()
            if name in ("", "."):
                continue
            if name == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(name)
            if not follow:
                continue
            here = "/" + "/".join(parts)
            try:
                mode = lstat(here).st_mode
            except (OSError, ValueError):
                continue
            if mode & 0o170000 == 0o120000:  # a symbolic link
                hops += 1
                if hops > 40:
                    return None
                try:
                    target = readlink(here)
                except (OSError, ValueError):
                    return None
                parts.pop()
                if target.startswith("/"):
                    parts = []
                todo.extend(target.split("/")[::-1])
        return "/" + "/".join(parts)

    def inside(path, dir_set, prefixes):
        return path in dir_set or path.startswith(prefixes)

    def path_problem(raw, dir_fd, writing):
        """None when the access is allowed, else a short reason."""
        path = as_text(raw)
        if path is None:
            return "unusual path object"
        real = resolve(path, dir_fd, True)
        if real is None:
            return "path cannot be resolved"
        for name in (resolve(path, dir_fd, False), real):  # as written, and where it leads
            if name is None:
                continue
            if name.startswith("/proc/"):
                first = name[6:].split("/", 1)[0]
                if first.isdigit() or first in ("self", "thread-self"):
                    return process_information
            if name == "/dev" or name.startswith("/dev/"):
                if not (name in devices_read_write
                        or (not writing and name in devices_read_only)):
                    return "device file"
        if real in denied_set or real.startswith(denied_prefixes):
            return "a forbidden library's files (the submission has its own module of that name)"
        if real in devices_read_write or (not writing and real in devices_read_only):
            return None
        if inside(real, scratch_set, scratch_prefixes) or real in writable_files:
            return None
        if writing:
            return "write outside the scratch directory"
        if inside(real, readable_set, readable_prefixes) or real in readable_files:
            return None
        return "read outside the readable directories"

    def open_problem(args):
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        if type(path) is int_type or type(path) is bool:
            return None if path in open_fds else "open of an inherited file descriptor"
        writing = (type(flags) is int_type and flags & write_flags) or (
            type(mode) is str_type and any(c in mode for c in "wax+"))
        return path_problem(path, None, writing)

    def listed_paths_problem(args, positions, writing):
        for path_at, dir_fd_at in positions:
            if path_at >= len(args):
                continue
            path = args[path_at]
            if path is None and not writing:
                path = "."
            if type(path) is int_type:  # an already open descriptor: checked when opened
                continue
            dir_fd = args[dir_fd_at] if dir_fd_at is not None and dir_fd_at < len(args) else None
            problem = path_problem(path, dir_fd, writing)
            if problem:
                return problem
        return None

    return as_text, open_problem, listed_paths_problem
