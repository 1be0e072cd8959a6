#!/usr/bin/env bash
# Configures and builds tandem (Release) into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "+ cmake -S . -B build -DCMAKE_BUILD_TYPE=Release"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > build.log 2>&1 || { cat build.log; exit 1; }
echo "+ cmake --build build -j $(nproc)"
cmake --build build -j "$(nproc)" >> build.log 2>&1 || { tail -n 60 build.log; exit 1; }
rm -f build.log
