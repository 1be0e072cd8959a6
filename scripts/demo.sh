#!/usr/bin/env bash
# THE demo command (README): installs what is missing, builds, trains a model and translates.
# Today: the built-in string-reversal task in one process (tandem-reverse-demo). It becomes the
# CMUdict grapheme-to-phoneme run on 2 MPI ranks once tandem-prep/tandem-train land (issues 3-6).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
echo "+ build/tandem-reverse-demo $*"
exec build/tandem-reverse-demo "$@"
