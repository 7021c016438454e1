#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# Put this file, run_autograder and a gradcheck checkout (or wheel) in the autograder zip:
#   autograder.zip: setup.sh, run_autograder, gradcheck/ (this repository)
set -euo pipefail
apt-get install -y python3 python3-pip python3-venv
python3 -m venv /autograder/venv
# torch is pinned as in gradcheck's own constraints.txt; point pip at a CPU-only build of it
# (your index of choice) to keep the image small
/autograder/venv/bin/pip install -c /autograder/source/gradcheck/constraints.txt /autograder/source/gradcheck
