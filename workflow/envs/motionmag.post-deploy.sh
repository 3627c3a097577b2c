#!/usr/bin/env bash
# Install this repository's package (and its pip dependencies) into the freshly created conda
# environment of envs/motionmag.yaml; Snakemake runs this once, with the environment active.
set -euo pipefail
python -m pip install --no-cache-dir "$(cd "$(dirname "$0")/../.." && pwd)"
