// What every tandem program shares: the one place where errors become a line on stderr and an
// exit code (ops/exit_codes.h), and command-line options derived from a Settings table.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <string>

#include "ops/settings.h"

namespace tandem::apps {

// Every program ignores SIGXFSZ, so a file-size limit is a write error naming the file.
void ignore_file_size_signal();

// The message for an exception that ends a program: out-of-memory and oneDNN errors get what a
// user needs to act on (which options to lower, the oneDNN status); others their own text.
std::string failure_text(const std::exception& error);

// Runs `body` and returns its exit code. A ConfigError or Boost.Program_options error prints
// "<program>: error: <message>" and returns kExitUsage; any other exception kExitError.
// --version (anywhere in argv) prints the build's identity (ops/build_info.h) and exits 0.
int run_program(const char* program, int argc, char** argv, const std::function<int()>& body);

// Command-line options (grouped as the settings' groups) over a Settings table: defaults are the
// fields' values when called; each option's text is parsed into its field by the table.
boost::program_options::options_description options_of(const Settings& settings,
                                                       const std::string& caption);

// Parses the command line into the fields of `settings` (whose options `options` are), then the
// INI file named by option `config_option`, if given: "key = value" lines with the long option
// names, '#' or ';' comments; options given on the command line win. ConfigError naming the file
// and line for a bad line, an unknown key or a bad value; po::error for a bad command line.
void parse_options(int argc, char** argv, const Settings& settings,
                   const boost::program_options::options_description& options,
                   const std::string& config_option);

}  // namespace tandem::apps
