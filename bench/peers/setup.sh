#!/usr/bin/env bash
# Creates bench/peers/.venv with the pinned peers. Needs python3 with venv (Debian:
# python3-venv) and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt
echo "peers installed in $(pwd)/.venv"
