# Shared by the shell tests (sourced): a scratch directory that is removed on exit (the current
# directory from here on), MPI allowed as root with one OpenMP thread per rank, pass/fail
# counters, and the reading of a checkpoint's content checksum. A test that needs more clean-up
# sets its own trap and calls cleanup_work in it.
work=$(mktemp -d)
cleanup_work() { rm -rf "$work"; }
trap cleanup_work EXIT
cd "$work" || exit 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
skip() { echo "skipped: $*"; }  # only where this machine cannot provide the tool; say why
# checksum FILE: the content checksum attribute of a checkpoint.
checksum() { h5dump -a checksum "$1" 2>/dev/null | sed -n 's/.*(0): "\(.*\)".*/\1/p'; }
# run_case NAME CASE: runs function case_CASE, prints the result line, exits 1 on a failure.
run_case() {
  declare -F "case_$2" > /dev/null || { echo "$1: unknown case '$2'"; exit 2; }
  "case_$2"
  if [ $failures -eq 0 ]; then echo "$1 $2: all passed"; else echo "$1 $2: $failures failed"; exit 1; fi
}
# finish NAME: prints the result line of a test without cases and exits 1 on a failure.
finish() {
  if [ $failures -eq 0 ]; then echo "$1: all passed"; else echo "$1: $failures failed"; exit 1; fi
}
# need_torch NAME: Debian's PyTorch and h5py for the PyTorch tests, installed if missing; the test
# is skipped (and ends here) where they cannot be installed.
need_torch() {
  /usr/bin/python3 -c "import torch, h5py" 2> /dev/null && return
  echo "$1: installing python3-torch and python3-h5py (Debian's)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-torch python3-h5py > apt.log 2>&1 \
    || { skip "python3-torch could not be installed: $(tail -1 apt.log)"; finish "$1"; }
}
