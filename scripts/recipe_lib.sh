# Shared by the end-to-end recipes (sourced): the MPI launch line for N ranks on this machine and
# a timed, echoed run.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# recipe_launch N: sets `launch` (one core per rank; oversubscribed where there are fewer cores).
# RECIPE_MPI_OPTIONS adds mpirun options (e.g. `--cpu-set 1` for a second job beside a first).
recipe_launch() {
  launch=(mpirun -np "$1" --bind-to core)
  if [ "$(nproc)" -lt "$1" ]; then launch=(mpirun -np "$1" --oversubscribe --bind-to none); fi
  # shellcheck disable=SC2206  # options are words
  launch+=(${RECIPE_MPI_OPTIONS:-})
}

# timed VAR COMMAND...: prints and runs COMMAND, stores its wall time in seconds in VAR.
timed() {
  local variable=$1 start
  shift
  start=$(date +%s)
  echo "+ $*" >&2
  "$@"
  printf -v "$variable" '%s' $(( $(date +%s) - start ))
}

# recipe_options EXTRA...: sets `options` to the recipe's options (the array `recipe`, "--name
# value" pairs) followed by EXTRA, leaving out each recipe option that EXTRA gives again:
# tandem-train refuses an option given twice, and a search overrides the recipe's values.
recipe_options() {
  local -A given=()
  local arg i
  for arg in "$@"; do [[ $arg == --* ]] && given[${arg%%=*}]=1; done
  options=()
  for ((i = 0; i < ${#recipe[@]}; i += 2)); do
    [ -n "${given[${recipe[i]}]:-}" ] || options+=("${recipe[i]}" "${recipe[i + 1]}")
  done
  options+=("$@")
}
