#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# Put this file, run_autograder and a gradcheck checkout (or wheel) in the autograder zip:
#   autograder.zip: setup.sh, run_autograder, gradcheck/ (this repository)
set -euo pipefail
apt-get install -y python3 python3-pip python3-venv
python3 -m venv /autograder/venv
# torch pinned to a CPU build keeps the image small
/autograder/venv/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
/autograder/venv/bin/pip install /autograder/source/gradcheck
