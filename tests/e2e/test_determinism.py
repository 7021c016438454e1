from gradcheck.checks import CheckSettings
from gradcheck.runner import Options, check_path


def _fingerprint(result):
    return [(f.code, f.op, f.message, f.evidence.get("case")) for f in result.findings]


def test_same_subject_same_seed_same_counterexample(tmp_path, consensus):
    # a subject whose bug only the end-to-end search finds: pow's rule is wrong only for |x| > 2.2 (only the end-to-end search reaches that)
    from conftest import REFERENCE

    source = (REFERENCE / "correct_iterative.py").read_text()
    broken = source.replace('lambda o: (k * self.data ** (k - 1),)',
                            'lambda o: (k * self.data ** (k - 1) * (1.5 if abs(self.data) > 2.2 else 1),)')
    assert broken != source
    path = tmp_path / "s.py"
    path.write_text(broken)
    for seed in (None, 7):
        opts = Options(settings=CheckSettings(seed=seed))
        first, second = check_path(str(path), opts, consensus), check_path(str(path), opts, consensus)
        assert _fingerprint(first) == _fingerprint(second)
        assert first.verdict == "fail"
