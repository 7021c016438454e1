"""The setup of the server process that grading processes are forked from (``grade -j N``).

multiprocessing's fork server imports a list of modules once and forks every grading process
from itself, so none of them starts Python and imports gradcheck and Hypothesis anew (half a
second of CPU each). This module is that list's only entry (``batch._fork_server_is_safe``);
importing it is the setup, and nothing else imports it.

The server must die with gradcheck -- arranged first, before anything that could fail. A
grading process dies with its parent (the server), but it also holds a copy of the pipe by which
the server notices that gradcheck is gone, so without this the two would keep each other alive
-- and a worker on, as a submission's code -- after gradcheck is killed from outside.
"""

from gradcheck.sandbox.isolation import die_with_parent

die_with_parent()

import gradcheck.checks.property_search  # noqa: E402,F401  (Hypothesis: every buggy submission shrinks)
import gradcheck.grading.batch  # noqa: E402,F401  (gradcheck's checks)
