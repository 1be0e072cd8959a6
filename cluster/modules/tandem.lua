-- Lmod module for an installed tandem (cmake --install build --prefix PREFIX).
-- Copy to a directory on MODULEPATH as tandem/<version>.lua and set `prefix` below, or keep it
-- in PREFIX/share/tandem/modules/ where `cmake --install` puts it with the prefix filled in.
--   module load tandem
--   tandem-train --version
help([[
tandem: sequence-to-sequence (encoder-decoder RNN with attention) training across MPI ranks on
CPU clusters. Programs: tandem-prep, tandem-train, tandem-translate, tandem-inspect,
tandem-average. Cluster scripts in $TANDEM_SHARE/cluster (sbatch: train.sbatch).
Built against the system's Open MPI: launch with the same Open MPI's mpirun (or srun --mpi=pmix).
]])
whatis("Name: tandem")
whatis("Description: data-parallel seq2seq training with oneDNN, Open MPI and HDF5")

local prefix = os.getenv("TANDEM_PREFIX") or "@CMAKE_INSTALL_PREFIX@"
-- Refuse to load a module whose prefix was never filled in (a copy from the source tree).
if prefix:find("@", 1, true) then
  LmodError("tandem.lua: set TANDEM_PREFIX or install it with cmake --install (prefix unset)")
end

prepend_path("PATH", pathJoin(prefix, "bin"))
setenv("TANDEM_PREFIX", prefix)
setenv("TANDEM_SHARE", pathJoin(prefix, "share", "tandem"))
-- cluster/slurm/train.sbatch uses this tandem-train.
setenv("TANDEM_TRAIN", pathJoin(prefix, "bin", "tandem-train"))
