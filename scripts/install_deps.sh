#!/usr/bin/env bash
# Installs the Debian 12 packages tandem builds and runs with, if any is missing.
# Prints what it does. Needs root (or sudo) only when something has to be installed.
set -euo pipefail

packages=(
  g++ make cmake pkg-config            # toolchain
  libdnnl-dev                          # oneDNN: RNN, matmul, softmax primitives
  ocl-icd-opencl-dev                   # Debian's dnnl CMake config requires OpenCL (only a Recommends)
  libopenmpi-dev openmpi-bin           # MPI (distributed training)
  libhdf5-dev                          # corpus shards and checkpoints
  libboost-program-options-dev         # command lines
  googletest libgtest-dev              # tests
  nlohmann-json3-dev                   # metrics and manifests
  libsentencepiece-dev                 # subword tokenisation
  hdf5-tools                           # h5dump, for inspecting corpora and checkpoints
  python3 python3-h5py                 # scripts/read_corpus.py (and its test)
  python3-matplotlib fonts-noto-cjk    # scripts/plot_*.py (CJK labels in embedding plots)
  lmod                                 # tests: cluster/modules/tandem.lua loads
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install_deps: error: missing packages (${missing[*]}) and not root; run as root or install them" >&2
  exit 1
fi

echo "install_deps: installing ${missing[*]}"
echo "+ apt-get update"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
echo "+ apt-get install -y ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
