# Spack recipe for tandem. Put this directory's package.py into a repository of your own:
#   spack repo create myrepo && mkdir -p myrepo/packages/tandem && cp package.py myrepo/packages/tandem/
#   spack repo add myrepo && spack install tandem@main ~native
# Dependencies carry Spack's names; the versions are the Debian 12 ones tandem is tested with
# (older ones may work but are not tested).
from spack.package import *


class Tandem(CMakePackage):
    """Data-parallel training of sequence-to-sequence models (encoder-decoder RNN with
    attention) on CPU clusters: oneDNN RNN primitives, Open MPI all-reduce, HDF5 corpora and
    checkpoints that resume exactly."""

    homepage = "https://example.invalid/tandem"
    git = "https://example.invalid/tandem.git"

    maintainers("tandem-team")
    license("UNKNOWN")

    version("main", branch="main")

    variant(
        "native",
        default=False,
        description="Tune for the build machine's CPU (-march=native); off for mixed clusters",
    )
    variant("tests", default=False, description="Build and run the test suite (needs googletest)")

    depends_on("cmake@3.18:", type="build")
    depends_on("pkgconfig", type="build")
    depends_on("onednn@2.6:")
    depends_on("mpi")
    depends_on("openmpi@4:", when="^openmpi")
    depends_on("hdf5@1.10: ~mpi")
    depends_on("boost@1.74: +program_options")
    depends_on("sentencepiece")
    depends_on("nlohmann-json@3.10:")
    depends_on("googletest@1.12:", type=("build", "test"), when="+tests")
    depends_on("python@3.9:", type="run")
    depends_on("py-h5py", type="run")
    depends_on("py-matplotlib", type="run")

    def cmake_args(self):
        return [
            self.define_from_variant("TANDEM_NATIVE", "native"),
            self.define("BUILD_TESTING", self.spec.satisfies("+tests")),
        ]

    def setup_run_environment(self, env):
        env.set("TANDEM_TRAIN", self.prefix.bin.join("tandem-train"))
        env.set("TANDEM_SHARE", self.prefix.share.tandem)
