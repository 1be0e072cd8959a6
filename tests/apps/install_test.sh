#!/usr/bin/env bash
# tandem as a cluster meets it (issue 17): `cmake --install` into a prefix gives programs that
# work from another directory with nothing of the source or build tree (a tiny run prepared,
# trained, averaged and decoded with the installed programs only); --version on every program
# names the version and the libraries; the Lmod module sets PATH/TANDEM_TRAIN; the Spack recipe
# parses as Python with the dependencies Spack names; the Apptainer definition has the sections
# a build needs (apptainer itself is not on this machine: skipped, with the reason).
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
source "$(dirname "$0")/../shell_lib.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" > install.log 2>&1 || { fail "cmake --install"; cat install.log; finish install_test; }
programs=(tandem-prep tandem-train tandem-translate tandem-inspect tandem-average)
missing=0
for file in "${programs[@]/#/bin/}" share/tandem/cluster/slurm/train.sbatch share/tandem/modules/tandem.lua \
            share/tandem/scripts/plot_metrics.py share/doc/tandem/README.md share/doc/tandem/checkpoints.md; do
  [ -e "$prefix/$file" ] || { fail "not installed: $file"; missing=1; }
done
[ $missing -eq 0 ] && pass "installed: ${#programs[@]} programs, train.sbatch, the module, plot scripts, docs"

# From another directory, with the source and build trees out of reach (PATH: the prefix only).
mkdir -p elsewhere && cd elsewhere
run() { env -i PATH="$prefix/bin:/usr/bin:/bin" HOME="$work" OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "$@"; }
for i in $(seq 1 150); do printf 'w%d\tA B %d\n' $((i % 23)) $((i % 7)); done > pairs.tsv
if run tandem-prep --quiet --train pairs.tsv --tgt-tokenizer word --valid-fraction 0.1 -o corpus > prep.log 2>&1 \
   && run mpirun --oversubscribe -np 2 tandem-train --corpus corpus --embedding-size 8 --hidden-size 16 \
        --batch-tokens 64 --max-steps 30 --save-every 10 --keep 5 --run-dir run > train.log 2>&1 \
   && run tandem-average -o avg.h5 --last 2 run > average.log 2>&1 \
   && printf 'w1\nw2\n' | run tandem-translate --checkpoint avg.h5 --beam 2 > out.txt 2> translate.log \
   && [ "$(wc -l < out.txt)" -eq 2 ]
then pass "prep, 2-rank train, average and translate from the prefix alone: $(tr '\n' '|' < out.txt)"
else fail "the installed programs"; tail -3 prep.log train.log average.log translate.log 2>/dev/null; fi

# --version: every program, no MPI launch needed, the same version everywhere.
versions=()
for program in "${programs[@]}"; do
  text=$(run "$program" --version 2>&1) || { fail "$program --version (exit $?)"; continue; }
  grep -q "^$program (tandem) " <<< "$text" && grep -q "^oneDNN: *oneDNN [0-9]" <<< "$text" \
    && grep -q "^MPI: *Open MPI" <<< "$text" && grep -q "^HDF5: *HDF5 1\." <<< "$text" \
    || { fail "$program --version: $text"; continue; }
  versions+=("$(head -1 <<< "$text" | cut -d' ' -f3)")
done
if [ ${#versions[@]} -eq ${#programs[@]} ] && [ "$(printf '%s\n' "${versions[@]}" | sort -u | wc -l)" -eq 1 ]; then
  pass "--version on all ${#programs[@]}: $(run tandem-train --version | tr '\n' ';' | head -c 300)"
fi
build_line=$(/usr/bin/python3 -c 'import json; print(next(r["build"] for r in map(json.loads, open("run/metrics.jsonl")) if r["type"] == "start"))')
if [ -n "$build_line" ] && run tandem-inspect checkpoint avg.h5 | grep -qF "written by      $build_line"
then pass "the build is in the metrics start record and the checkpoint: $build_line"
else fail "build identity in metrics/checkpoint ('$build_line')"; run tandem-inspect checkpoint avg.h5 | head -5; fi
cd "$work"

# Lmod: the installed module file loads and points at the prefix.
lmod_init=/usr/share/lmod/lmod/init/bash
if [ -f "$lmod_init" ]; then
  loaded=$(bash -c "source $lmod_init && module use $prefix/share/tandem/modules && module load tandem \
                    && command -v tandem-train && echo \$TANDEM_TRAIN" 2>&1)
  if grep -qx "$prefix/bin/tandem-train" <<< "$loaded" && [ "$(grep -c "^$prefix/bin/tandem-train$" <<< "$loaded")" -eq 2 ]
  then pass "module load tandem: PATH and TANDEM_TRAIN point into the prefix"
  else fail "module load tandem"; echo "$loaded"; fi
else
  skip "Lmod not installed ($lmod_init missing; scripts/install_deps.sh installs Debian's lmod)"
fi

# Spack: the recipe parses, and names its dependencies as Spack does.
if /usr/bin/python3 - "$source_dir/cluster/spack/package.py" <<'PY' > spack.log 2>&1
import ast, sys
tree = ast.parse(open(sys.argv[1]).read(), sys.argv[1])
cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tandem")
deps = [c.args[0].value for c in ast.walk(cls) if isinstance(c, ast.Call)
        and getattr(c.func, "id", "") == "depends_on"]
names = {d.split("@")[0].split("+")[0].split("~")[0].strip() for d in deps}
need = {"onednn", "mpi", "openmpi", "hdf5", "boost", "sentencepiece", "nlohmann-json", "googletest"}
assert need <= names, "missing: %s" % (need - names)
assert any("+program_options" in d for d in deps), "boost without +program_options"
variants = [c.args[0].value for c in ast.walk(cls) if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "variant"]
assert "native" in variants, variants
print("dependencies: " + ", ".join(sorted(names)) + "; variants: " + ", ".join(variants))
PY
then pass "spack package.py parses: $(cat spack.log)"; else fail "spack package.py"; cat spack.log; fi

# Apptainer: the definition's header and sections; a real build needs apptainer (not packaged in
# Debian 12) and network access to a registry.
def=$source_dir/cluster/apptainer/tandem.def
if grep -q "^Bootstrap: docker$" "$def" && grep -q "^From: debian:12$" "$def" \
   && for section in files post environment runscript test; do grep -q "^%$section" "$def" || exit 1; done \
   && grep -q "scripts/install_deps.sh" "$def" && grep -q "cmake --install" "$def"
then pass "tandem.def: Debian 12 base, %files/%post/%environment/%runscript/%test, install_deps.sh + cmake --install"
else fail "tandem.def structure"; fi
if command -v apptainer > /dev/null || command -v singularity > /dev/null; then
  skip "apptainer is installed but building an image needs registry access; not attempted here"
else
  skip "apptainer/singularity not installed (not in Debian 12): the image build is not tested here"
fi

finish install_test
