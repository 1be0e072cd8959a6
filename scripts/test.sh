#!/usr/bin/env bash
# THE test command (README, .ci/run): installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "+ ctest --test-dir build --output-on-failure"
ctest --test-dir build --output-on-failure --timeout 900
