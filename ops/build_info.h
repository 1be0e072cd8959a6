// What built this tandem and what it runs on: the version (release number + `git describe`),
// the compiler, the oneDNN, Open MPI and HDF5 actually linked, and the CPU instruction set
// oneDNN uses. Printed by every program's --version, stored in every checkpoint and in the
// metrics' start record, so a bug report or an old result says what produced it.
#pragma once

#include <string>

namespace tandem {

// One line: "tandem 0.2.0+git.1abf2e3 (g++ 12.2.0; oneDNN 2.7.3 isa avx512_core_bf16; Open MPI
// v4.1.4; HDF5 1.10.8)".
std::string build_info_line();

// Several "name: value" lines for --version.
std::string build_info_text(const std::string& program);

// If argv holds --version: prints build_info_text and returns true (the program then exits 0).
// Needs no MPI_Init, no file, no other option.
bool print_version_if_asked(int argc, char** argv, const std::string& program);

}  // namespace tandem
