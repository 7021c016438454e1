"""Hostile classmates (issue 9): attackers graded with ``grade -j 2`` beside innocent
submissions, and what must stay true whatever they do.

For every batch (``subjects/classmates.py`` puts each attack into one; innocents are a correct
and a forward-only submission with a marker line of their own):

(a) each innocent's gradebook row (and Gradescope score) equals its row when graded alone, -j 1;
(b) no secret (a root-only file, an environment variable of the grading process) and no
    classmate's marker appears in any output file or on stdout/stderr;
(c) every output file parses (CSV, XML, JSON, HTML) and holds no raw escape, control or bidi
    character and no lone surrogate; no gradebook id can be read as a spreadsheet formula;
(d) nothing outside ``--out`` changed (batch folder, a watched folder, ``--out``'s parent);
(e) no process, SysV IPC object, /dev/shm entry, cgroup or sandbox dir of the run survives it;
(f) the run ends within its budget (``BATCHES``: wall seconds; the process tree is killed
    there) with a normal exit status, and gradcheck's own processes stay under
    ``TRUSTED_RSS_MB`` of memory;
(g) an attacker that computes nothing right itself gets no full marks.

Every run happens inside a small supervisor (this file run as a script) that is the
*subreaper* of the grading process tree: whatever the run leaves alive, even double-forked into
its own session, becomes the supervisor's child and is reported, then killed. Runs are cached
per batch (module scope), so each batch is graded once.
"""

from __future__ import annotations

import csv
import ctypes
import html.parser
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `subjects` when run as a script

import pytest  # noqa: E402

from subjects.classmates import ATTACKS, NOTHING, Attack  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the supervisor reads Linux's /proc")

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 4  # --timeout: seconds per request
SUBJECT_TIMEOUT = 20  # --subject-timeout: the time one submission's code may take in all
LIMITS = ["--timeout", str(TIMEOUT), "--subject-timeout", str(SUBJECT_TIMEOUT),
          "--statement-timeout", "10", "--load-timeout", "30", "--load-budget", "20",
          "--examples", "30", "--memory-mb", "4096"]
# Wall budget of one batch run, in seconds: generous for a loaded 2-core machine. "time" holds
# two subjects that use all of their SUBJECT_TIMEOUT, graded side by side, then the innocents.
BATCHES = {"control": 60, "neighbours-signal": 90, "neighbours-ptrace": 90,
           "neighbours-hijack": 90, "theft": 120, "leaks": 90, "paths": 90, "names": 90,
           "collision": 60, "protocol": 90, "resources": 90, "source-bombs": 90, "time": 100}
TRUSTED_RSS_MB = 1024  # peak RSS of any of gradcheck's own processes (a normal run: ~280)
ADDRESS_SPACE = 8 << 30  # rlimit on the whole run, so that a memory attack cannot hurt the host
INNOCENTS = {"m_correct": "correct_full.py", "m_forward": "seed_000.py"}
BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                       "\u2066-\u2069\ud800-\udfff]")
FORMULA_START = tuple("=+-@\t\r")


# ------------------------------------------------------------------------------ supervisor

def _supervise(spec: dict) -> None:
    """Run ``spec["cmd"]`` as the subreaper of its tree; write what happened to spec["report"]."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    me = os.getpid()

    def limit():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (spec["address_space"], spec["address_space"]))

    with open(spec["stdout"], "wb") as out, open(spec["stderr"], "wb") as err:
        proc = subprocess.Popen(spec["cmd"], cwd=spec["cwd"], env=spec["env"], stdout=out,
                                stderr=err, stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=limit)
    seen: dict[int, dict] = {}
    start, timed_out, killed, rc = time.monotonic(), False, False, None
    while rc is None:
        _observe(me, seen)
        rc = proc.poll()
        if rc is not None:
            break
        now = time.monotonic()
        if spec.get("kill_after") and not killed and any(
                "worker" in p["cmd"] and now - p["first"] >= spec["kill_after"] for p in seen.values()):
            os.kill(proc.pid, signal.SIGKILL)  # gradcheck killed from outside, as by a CI limit
            killed = True
        if now - start > spec["budget"]:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(0.1)
    seconds = time.monotonic() - start
    survivors = []
    grace_end = time.monotonic() + spec["grace"]
    while True:
        _reap()
        live = _observe(me, seen)
        if not live or time.monotonic() > grace_end:
            survivors = [{"pid": p, "cmd": seen[p]["cmd"]} for p in live]
            break
        time.sleep(0.1)
    for s in survivors:
        try:
            os.kill(s["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    for _ in range(50):
        _reap()
        if not _observe(me, seen):
            break
        time.sleep(0.1)
    report = {"returncode": rc, "timed_out": timed_out, "killed": killed, "seconds": seconds,
              "survivors": survivors,
              "trusted_rss_kb": max((p["hwm"] for p in seen.values() if p["trusted"]), default=0),
              "cgroups": sorted({c for p in seen.values() for c in p["cgroups"]}),
              "paths": sorted({c for p in seen.values() for c in p["paths"]})}
    Path(spec["report"]).write_text(json.dumps(report))


_SANDBOX_PATH = re.compile(r"/[^\0\s:=]*?gradcheck-[A-Za-z0-9_.-]+")


def _observe(me: int, seen: dict[int, dict]) -> list[int]:
    """Live descendants of ``me``; what each runs, where its cgroup and sandbox are."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                pass
    mine, grew = {me}, True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                grew = True
    mine.discard(me)
    for pid in mine:
        info = seen.setdefault(pid, {"first": time.monotonic(), "cmd": "", "trusted": False,
                                     "hwm": 0, "cgroups": [], "paths": []})
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            info["cmd"] = raw.replace(b"\0", b" ").decode(errors="replace").strip() or info["cmd"]
            uid = os.stat(f"/proc/{pid}").st_uid
            info["trusted"] = uid == os.getuid() and (
                "-m gradcheck" in info["cmd"] or "multiprocessing" in info["cmd"])
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    info["hwm"] = max(info["hwm"], int(line.split()[1]))
            for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
                _, controllers, path = line.split(":", 2)
                if "gradcheck" in path:
                    for c in controllers.split(",") if controllers else ["unified", ""]:
                        candidate = f"/sys/fs/cgroup/{c}{path}".replace("//", "/")
                        if os.path.isdir(candidate) and candidate not in info["cgroups"]:
                            info["cgroups"].append(candidate)
            texts = [raw.decode(errors="replace")]
            try:
                texts.append(os.readlink(f"/proc/{pid}/cwd"))
                texts.append(Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace"))
            except OSError:
                pass
            for text in texts:
                for m in _SANDBOX_PATH.finditer(text):
                    path = m.group(0)
                    if (not path.startswith(("/proc", "/sys")) and os.path.isdir(path)
                            and path not in info["paths"]):
                        info["paths"].append(path)
        except (OSError, ValueError):
            pass
    return sorted(mine)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# ----------------------------------------------------------------------- the machine's state

def _tree(folder: Path) -> dict[str, tuple]:
    """Everything in a folder, symlinks and modes included, without following links."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            rel = str(path.relative_to(folder))
            if stat.S_ISLNK(st.st_mode):
                state[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                state[rel] = ("file", st.st_mode, path.read_bytes())
            else:
                state[rel] = ("other", st.st_mode)
    return state


def _sysv_ipc() -> set[tuple[str, int]]:
    found = set()
    for kind in ("shm", "msg", "sem"):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            found.add((kind, int(line.split()[1])))
    return found


def _dev_shm() -> set[str]:
    """/dev/shm entries no root process made (submissions never run as root)."""
    names = set()
    for entry in os.scandir("/dev/shm"):
        try:
            if entry.stat(follow_symlinks=False).st_uid != 0:
                names.add(entry.name)
        except OSError:
            pass
    return names


def _fill_files() -> list[str]:
    return [str(p) for folder in ("/tmp", "/var/tmp", "/dev/shm")
            for p in Path(folder).glob("gradcheck-classmates-fill-*")]


# ----------------------------------------------------------------------------------- runs

@dataclass
class Run:
    out: Path
    stdout: bytes
    stderr: bytes
    report: dict
    outside_changed: list[str]
    leftovers: list[str]

    def rows(self) -> dict[str, list[str]]:
        try:
            with open(self.out / "gradebook.csv", newline="", encoding="utf-8") as f:
                table = list(csv.reader(f))
        except (OSError, UnicodeDecodeError, csv.Error):
            return {}
        return {row[0]: row for row in table[1:] if row}

    def header(self) -> list[str]:
        try:
            with open(self.out / "gradebook.csv", newline="", encoding="utf-8") as f:
                return next(csv.reader(f))
        except (OSError, UnicodeDecodeError, csv.Error, StopIteration):
            return []

    def gradescope(self, sid: str):
        try:
            doc = json.loads((self.out / sid / "results.json").read_text())
            return doc["score"], [(t["name"], t["score"]) for t in doc["tests"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None


def grade(paths: list[Path], work: Path, env: dict[str, str], budget: float, jobs: int = 2,
          watched: tuple[Path, ...] = (), kill_after: float | None = None, grace: float = 3.0) -> Run:
    """``gradcheck grade PATHS --out work/results/out -j JOBS`` under the supervisor, with
    snapshots of everything around it."""
    results, logs = work / "results", work / "logs"
    results.mkdir(parents=True, exist_ok=True)
    logs.mkdir(exist_ok=True)
    out = results / "out"
    tmpdir = Path(env["TMPDIR"])
    tmpdir.mkdir(parents=True, exist_ok=True)
    folders = (*watched, results)
    before = {str(f): _tree(f) for f in folders}
    ipc_before, shm_before = _sysv_ipc(), _dev_shm()
    tmp_before = set(os.listdir(tmpdir))
    spec = {"cmd": [sys.executable, "-m", "gradcheck", "grade", *map(str, paths), "--rubric", "part1",
                    "--out", str(out), "-j", str(jobs), *LIMITS],
            "cwd": str(ROOT), "env": env, "budget": budget, "grace": grace,
            "kill_after": kill_after, "address_space": ADDRESS_SPACE,
            "stdout": str(logs / "stdout"), "stderr": str(logs / "stderr"),
            "report": str(logs / "report.json")}
    subprocess.run([sys.executable, __file__, json.dumps(spec)], timeout=budget + 120, check=True)
    report = json.loads((logs / "report.json").read_text())

    changed = []
    for f in folders:
        after = _tree(f)
        if f == results:
            after = {k: v for k, v in after.items() if k != "out" and not k.startswith("out/")}
            before[str(f)] = {k: v for k, v in before[str(f)].items()
                              if k != "out" and not k.startswith("out/")}
        for rel in sorted(set(after) | set(before[str(f)])):
            if after.get(rel) != before[str(f)].get(rel):
                changed.append(f"{f}/{rel}")
    changed += _fill_files()
    for path in _fill_files():
        Path(path).unlink(missing_ok=True)

    leftovers = [f"process {s['pid']}: {s['cmd'][:200]}" for s in report["survivors"]]
    for kind, ident in sorted(_sysv_ipc() - ipc_before):
        leftovers.append(f"SysV {kind} {ident}")
        subprocess.run(["ipcrm", {"shm": "-m", "msg": "-q", "sem": "-s"}[kind], str(ident)],
                       capture_output=True)
    for name in sorted(_dev_shm() - shm_before):
        leftovers.append(f"/dev/shm/{name}")
        Path("/dev/shm", name).unlink(missing_ok=True)
    if not kill_after:  # a killed run's leftovers are the next test's business
        leftovers += [f"cgroup {c}" for c in report["cgroups"] if os.path.isdir(c)]
        leftovers += [f"sandbox {p}" for p in report["paths"] if os.path.exists(p)]
        leftovers += [f"in TMPDIR: {n}" for n in sorted(set(os.listdir(tmpdir)) - tmp_before)]
        _tidy(report, tmpdir, tmp_before)
    return Run(out, (logs / "stdout").read_bytes(), (logs / "stderr").read_bytes(), report,
               changed, leftovers)


def _tidy(report: dict, tmpdir: Path, keep: set[str]) -> None:
    """Remove what a run left behind (after it has been recorded as a failure)."""
    for c in report["cgroups"]:
        try:
            os.rmdir(c)
        except OSError:
            pass
    for p in report["paths"]:
        shutil.rmtree(p, ignore_errors=True)
    for name in set(os.listdir(tmpdir)) - keep:
        shutil.rmtree(tmpdir / name, ignore_errors=True)


# --------------------------------------------------------------------------------- fixtures

@dataclass
class Secrets:
    token: str
    file: Path
    env_value: str
    texts: dict[str, str]  # what may not appear -> where it may (an innocent's own folder) or ""

    def env(self, tmpdir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("FORCE_COLOR", "CLICOLOR_FORCE", "PY_COLORS", "TMPDIR")}
        env.update(GRADCHECK_TEST_SECRET=self.env_value, TMPDIR=str(tmpdir),
                   PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        return env


@pytest.fixture(scope="module")
def secrets(tmp_path_factory) -> Secrets:
    token = uuid.uuid4().hex[:16]
    folder = tmp_path_factory.mktemp("secret")
    folder.chmod(0o700)
    secret = folder / "secret"
    secret.write_text(f"gcsecretfile{token} the instructor's answer key\n")
    secret.chmod(0o600)
    texts = {f"gcsecretfile{token}": "", f"gcsecretenv{token}": "", f"SHM-{token}": "",
             f"gcmarker{token}m_correct": "m_correct", f"gcmarker{token}m_forward": "m_forward"}
    return Secrets(token, secret, f"gcsecretenv{token}", texts)


def write_innocents(folder: Path, secrets: Secrets) -> None:
    for sid, reference in INNOCENTS.items():
        source = (ROOT / "reference_impls" / reference).read_text()
        # the marker opens the file, where anything that reads a classmate sees it first
        (folder / f"{sid}.py").write_text(f"# gcmarker{secrets.token}{sid}\n" + source)


def render(template: str, secrets: Secrets, outside: Path) -> str:
    return (template.replace("__SECRET_FILE__", str(secrets.file)).replace("__OUTSIDE__", str(outside))
            .replace("__TOKEN__", secrets.token).replace("__TIMEOUT__", str(TIMEOUT)))


@pytest.fixture(scope="module")
def baseline(secrets, tmp_path_factory) -> dict[str, tuple]:
    """Each innocent graded alone, -j 1: its gradebook row and Gradescope score."""
    rows = {}
    for sid in INNOCENTS:
        work = tmp_path_factory.mktemp(f"alone-{sid}")
        (work / "batch").mkdir()
        write_innocents(work / "batch", secrets)
        for other in INNOCENTS:
            if other != sid:
                (work / "batch" / f"{other}.py").unlink()
        run = grade([work / "batch" / f"{sid}.py"], work, secrets.env(work / "tmp"), 90, jobs=1)
        assert run.report["returncode"] == 0, run.stderr.decode(errors="replace")
        rows[sid] = (run.rows()[sid], run.gradescope(sid), run.header())
    return rows


@pytest.fixture(scope="module")
def runs(secrets, tmp_path_factory):
    """The run of each batch, graded once on first use."""
    cache: dict[str, Run] = {}

    def get(batch: str) -> Run:
        if batch not in cache:
            work = tmp_path_factory.mktemp(f"batch-{batch}")
            folder, extra, outside = work / "batch", work / "extra", work / "outside"
            for f in (folder, extra, outside):
                f.mkdir()
            (outside / "keep.txt").write_text("original")
            write_innocents(folder, secrets)
            paths = [folder]
            for attack in attacks_in(batch):
                for rel, template in attack.files.items():
                    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                    (folder / rel).write_text(render(template, secrets, outside))
                for rel, target in attack.symlinks.items():
                    (folder / rel).symlink_to(target)
                for rel, template in attack.explicit.items():
                    (extra / rel).write_text(render(template, secrets, outside))
                    paths.append(extra / rel)
            cache[batch] = grade(paths, work, secrets.env(work / "tmp"), BATCHES[batch],
                                 watched=(folder, extra, outside))
        return cache[batch]
    return get


def attacks_in(batch: str) -> list[Attack]:
    return [a for a in ATTACKS if a.batch == batch]


def _sid(name: str) -> str:
    top = Path(name).parts[0]
    return top[:-3] if top.endswith(".py") else top


def _ids(batch: str) -> str:
    return f"{batch}=" + "+".join(a.name for a in attacks_in(batch))


BATCH_IDS = [_ids(b) for b in BATCHES]


def test_every_attack_is_in_a_batch():
    assert {a.batch for a in ATTACKS} <= set(BATCHES)
    assert all(attacks_in(b) for b in BATCHES if b != "control")


# ------------------------------------------------------------------------------ the checks

@pytest.mark.parametrize("batch", BATCHES, ids=BATCH_IDS)
def test_innocents_graded_as_alone(batch, runs, baseline):
    """(a) and (f): within budget, and every innocent's row is its row when graded alone."""
    run = runs(batch)
    assert not run.report["timed_out"], f"still running after {BATCHES[batch]}s; killed"
    assert run.report["returncode"] in (0, 1), run.stderr.decode(errors="replace")[-3000:]
    rows = run.rows()
    for sid, (row, score, header) in baseline.items():
        assert run.header() == header
        assert rows.get(sid) == row, f"{sid}: alone {row}, beside attackers {rows.get(sid)}"
        assert run.gradescope(sid) == score, sid


@pytest.mark.parametrize("batch", BATCHES, ids=BATCH_IDS)
def test_no_secret_or_classmate_text_in_outputs(batch, runs, secrets):
    """(b)"""
    run = runs(batch)
    leaks = []
    for text, owner in secrets.texts.items():
        needle = text.encode()
        for name, data in (("stdout", run.stdout), ("stderr", run.stderr)):
            if needle in data:
                leaks.append(f"{text!r} on {name}")
        for path in sorted(p for p in run.out.rglob("*") if p.is_file()):
            rel = path.relative_to(run.out)
            if owner and rel.parts[0] == owner:
                continue  # an innocent's own report may quote its own file
            if needle in path.read_bytes():
                leaks.append(f"{text!r} in {rel}")
    assert not leaks, "\n".join(leaks)


class _HTMLText(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []

    def handle_data(self, data):
        self.texts.append(data)

    def handle_starttag(self, tag, attrs):
        self.texts.extend(v for _, v in attrs if v)


def _strings(doc):
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield k
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


def output_problems(run: Run) -> list[str]:
    problems = []
    for name, data in (("stdout", run.stdout), ("stderr", run.stderr)):
        text = data.decode("utf-8", errors="replace")
        if BAD_CHARS.search(text):
            problems.append(f"{name}: {BAD_CHARS.search(text).group()!r}")
    files = sorted(p for p in run.out.rglob("*") if p.is_file()) if run.out.is_dir() else []
    if not (run.out / "gradebook.csv").is_file():
        problems.append("no gradebook.csv")
    for path in files:
        rel = path.relative_to(run.out)
        try:
            text = path.read_bytes().decode("utf-8")
            if path.suffix == ".csv":
                rows = list(csv.reader(io.StringIO(text, newline="")))
                texts = [cell for row in rows for cell in row]
                problems += [f"{rel}: id {row[0]!r} reads as a formula" for row in rows[1:]
                             if row and row[0].startswith(FORMULA_START)]
            elif path.suffix == ".xml":
                root = ET.fromstring(text)
                texts = [t for el in root.iter() for t in (el.text, el.tail, *el.attrib.values()) if t]
            elif path.suffix == ".json":
                texts = list(_strings(json.loads(text)))
            elif path.suffix == ".html":
                parser = _HTMLText()
                parser.feed(text)
                parser.close()
                texts = parser.texts
            else:
                texts = []
        except (UnicodeDecodeError, csv.Error, ET.ParseError, ValueError) as exc:
            problems.append(f"{rel}: does not parse ({type(exc).__name__}: {str(exc)[:100]})")
            continue
        for t in [text, *texts]:
            m = BAD_CHARS.search(t)
            if m:
                problems.append(f"{rel}: holds {m.group()!r}")
                break
    return problems


@pytest.mark.parametrize("batch", BATCHES, ids=BATCH_IDS)
def test_outputs_parse_and_are_clean(batch, runs):
    """(c)"""
    problems = output_problems(runs(batch))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("batch", BATCHES, ids=BATCH_IDS)
def test_nothing_outside_out_changes(batch, runs):
    """(d)"""
    changed = runs(batch).outside_changed
    assert not changed, "\n".join(changed)


@pytest.mark.parametrize("batch", BATCHES, ids=BATCH_IDS)
def test_nothing_survives_the_run(batch, runs):
    """(e)"""
    leftovers = runs(batch).leftovers
    assert not leftovers, "\n".join(leftovers)


@pytest.mark.parametrize("batch", BATCHES, ids=BATCH_IDS)
def test_trusted_memory_stays_bounded(batch, runs):
    """(f) for memory: the trusted processes' peak RSS."""
    assert runs(batch).report["trusted_rss_kb"] < TRUSTED_RSS_MB << 10


@pytest.mark.parametrize("batch", BATCHES, ids=BATCH_IDS)
def test_no_credit_without_own_work(batch, runs, baseline):
    """(g) Only innocents that earn them alone, and attackers with correct code of their own,
    may have full marks; no attacker without such code gets a `pass` verdict. A hidden engine of
    the attacker's own wired into the worker counts as its own code only when flagged
    (`tampering`) for the instructor."""
    run = runs(batch)
    rows = run.rows()
    assert rows, "no gradebook"
    earned = {sid for sid, (row, _, _) in baseline.items() if row[1] == row[2]}
    credit = {_sid(n) for a in attacks_in(batch) if a.credit for n in a.files}
    hidden = {_sid(n) for a in attacks_in(batch) if a.hidden_engine for n in a.files}
    results = {sid: json.loads((run.out / sid / "result.json").read_text())["result"] for sid in rows}
    flagged = {sid for sid, r in results.items() if any(f["code"] == "tampering" for f in r["findings"])}
    own = earned | credit | (hidden & flagged)  # a hidden engine of its own, flagged, may pass
    full = sorted(sid for sid, row in rows.items() if row[1] == row[2] and sid not in own)
    passed = sorted(sid for sid in rows if sid not in set(baseline) | own
                    and results[sid]["verdict"] == "pass")
    assert not full and not passed, f"full marks: {full}; pass verdict: {passed}"


def test_scratch_has_a_quota(runs):
    """Filling the disk stops far below what the attacker tried (1.5 GiB)."""
    run = runs("resources")
    said = [int(n) for p in (run.out / "a_disk").glob("*") if p.is_file()
            for n in re.findall(rb"filled-MB: (\d+)", p.read_bytes())]
    assert said, "the disk filler's output is missing"
    assert max(said) < 1024


# ------------------------------------------------------------------------ killed from outside

SLEEPER = NOTHING + "\nimport time\n" + "time.sleep(2.5)\n" * 12


def test_killing_gradcheck_leaves_nothing_behind(secrets, tmp_path):
    """SIGKILL to ``grade`` while a worker runs: within a short wait no process of the run is
    left; the next ``grade`` removes the first run's cgroups and sandbox dirs."""
    env = secrets.env(tmp_path / "tmp")
    first = tmp_path / "first"
    (first / "batch").mkdir(parents=True)
    (first / "batch" / "a_sleeper.py").write_text(SLEEPER)
    (first / "batch" / "b_sleeper.py").write_text(SLEEPER)
    # the grace only costs time when something survives; on a loaded 2-core machine the pool
    # and multiprocessing's resource tracker took more than 5 s to notice their parent was gone
    killed = grade([first / "batch"], first, env, 90, kill_after=2.0, grace=15.0)
    assert killed.report["killed"], "the worker never started"
    stale = killed.report["cgroups"] + killed.report["paths"]
    problems = [f"survived the kill: {s}" for s in killed.leftovers]
    if not killed.report["paths"]:
        problems.append("no sandbox dir of the running worker was found (the test cannot judge)")

    second = tmp_path / "second"
    (second / "batch").mkdir(parents=True)
    (second / "batch" / "trivial.py").write_text(NOTHING)
    again = grade([second / "batch" / "trivial.py"], second, env, 90)
    problems += [f"not cleaned up by the next run: {p}" for p in stale if os.path.exists(p)]
    problems += [f"left by the next run: {p}" for p in again.leftovers]
    _tidy(killed.report, Path(env["TMPDIR"]), set())
    assert again.report["returncode"] in (0, 1), again.stderr.decode(errors="replace")[-2000:]
    assert not problems, "\n".join(problems)


if __name__ == "__main__":
    _supervise(json.loads(sys.argv[1]))
