"""For instructors' own tests: the ``gradcheck_subject`` fixture (the ``--gradcheck`` subject,
loaded once per session in gradcheck's sandboxed worker; see ``subject.py``) and the
``@pytest.mark.gradcheck(ops=[...], points=N)`` marker::

    @pytest.mark.gradcheck(ops=["add", "mul"], points=2)
    def test_a_value_used_twice(gradcheck_subject):
        x = gradcheck_subject.expression()
        a, b = x.leaf(2.0), x.leaf(-3.0)
        out = x.apply("add", x.apply("mul", a, b), a)  # a * b + a
        seen = gradcheck_subject.run(x)
        assert seen.grad[a] == pytest.approx(-3.0 + 1.0)
"""

from __future__ import annotations

import pytest

from gradcheck.ops import OPS_BY_NAME


@pytest.fixture(scope="session")
def gradcheck_subject(request: pytest.FixtureRequest):
    """The ``--gradcheck`` subject behind the sandbox: ``expression()``, ``run(expression)``,
    ``supports(op)``, ``class_name``."""
    from gradcheck.pytest_plugin.plugin import RUN
    from gradcheck.pytest_plugin.subject import SubjectUnavailable, open_subject

    run = request.config.stash.get(RUN, None)
    if run is None:
        pytest.skip("no subject: run pytest with --gradcheck PATH")
    if len(run.targets) > 1:
        pytest.fail(f"gradcheck_subject needs one --gradcheck subject, not {len(run.targets)}; "
                    "run pytest once per submission", pytrace=False)
    target = run.targets[0]
    try:
        handle = open_subject(target, run.options_for(target))
    except SubjectUnavailable as exc:
        pytest.fail(f"{target}: {exc}", pytrace=False)
    yield handle
    handle.close()


@pytest.fixture(autouse=True)
def _gradcheck_marker(request: pytest.FixtureRequest) -> None:
    """Applies ``@pytest.mark.gradcheck``: records the points for grading and skips the test
    when the subject lacks an op it needs."""
    marker = request.node.get_closest_marker("gradcheck")
    if marker is None:
        return
    ops = marker.kwargs.get("ops", ())
    unknown = [op for op in ops if op not in OPS_BY_NAME]
    if isinstance(ops, str) or unknown:
        pytest.fail(f"@pytest.mark.gradcheck(ops=...) takes a list of op names; not ops: {unknown or ops} "
                    f"(known: {', '.join(OPS_BY_NAME)})", pytrace=False)
    points = marker.kwargs.get("points")
    if points is not None:
        request.node.user_properties.append(("points", points))
    subject = request.getfixturevalue("gradcheck_subject")
    missing = [op for op in ops if not subject.supports(op)]
    if missing:
        pytest.skip(f"{subject.class_name} does not implement {', '.join(missing)}")
