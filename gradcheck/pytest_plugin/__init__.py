"""gradcheck as a pytest plugin (``pytest --gradcheck PATH``), registered through the
``pytest11`` entry point; see ``plugin.py`` for the hooks, ``fixtures.py`` for the instructor's
``gradcheck_subject`` fixture and ``gradcheck`` marker, and ``items.py`` for how a result
becomes named items (shared with ``gradcheck check --junit``).

Nothing here imports pytest at package level: ``items`` is also used by the command line.
"""
