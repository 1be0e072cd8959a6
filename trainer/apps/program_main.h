// What every tandem program shares: the one place where errors become a line on stderr and an
// exit code (ops/exit_codes.h), and command-line options derived from a Settings table.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <string>

#include "ops/settings.h"

namespace tandem::apps {

// Runs `body` and returns its exit code. A ConfigError or Boost.Program_options error prints
// "<program>: error: <message>" and returns kExitUsage; any other exception kExitError.
int run_program(const char* program, const std::function<int()>& body);

// Command-line options (grouped as the settings' groups) over a Settings table: defaults are the
// fields' values when called; each option's text is parsed into its field by the table.
boost::program_options::options_description options_of(const Settings& settings,
                                                       const std::string& caption);

// Parses the command line, then the INI file named by option `config_option` if given (the
// command line wins), into the fields. ConfigError / po::error for bad options; IoError for an
// unreadable file.
void parse_options(int argc, char** argv,
                   const boost::program_options::options_description& options,
                   const std::string& config_option);

}  // namespace tandem::apps
