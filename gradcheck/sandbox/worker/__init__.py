"""The worker's own code: everything that runs inside the sandbox, next to a submission.

These modules are not used as a package of gradcheck. ``gradcheck.sandbox.client`` copies them
(with ``gradcheck/sandbox/protocol.py``) into one flat, read-only folder of the sandbox and runs
``worker.py`` there as a script; the modules import each other by plain name, standard library
only, so they also run under an interpreter that has no gradcheck installed (``--python``). The
folder is a package only so that it ships with gradcheck and tests can import its entry point.
"""
