#include "trainer/apps/program_main.h"

#include <csignal>
#include <cstdio>
#include <dnnl.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <stdexcept>

#include "ops/build_info.h"
#include "ops/errors.h"
#include "ops/exit_codes.h"

namespace tandem::apps {

namespace po = boost::program_options;

void ignore_file_size_signal() {
  // Past a file-size limit (ulimit -f) a write then fails with EFBIG, which tandem reports naming
  // the file, instead of the process dying of SIGXFSZ with a temporary file left behind.
  std::signal(SIGXFSZ, SIG_IGN);
}

std::string failure_text(const std::exception& error) {
  if (dynamic_cast<const std::bad_alloc*>(&error) ||
      dynamic_cast<const std::length_error*>(&error)) {
    return std::string("out of memory (") + error.what() +
           "): lower --batch-tokens/--batch-size or the model's sizes, or run fewer ranks per node";
  }
  if (const auto* dnnl_error = dynamic_cast<const dnnl::error*>(&error))
    return std::string("oneDNN: ") + dnnl_error->what() + " (status " +
           std::to_string(static_cast<int>(dnnl_error->status)) +
           (dnnl_error->status == dnnl_out_of_memory ? ": out of memory" : "") + ")";
  return error.what();
}

int run_program(const char* program, int argc, char** argv, const std::function<int()>& body) {
  if (print_version_if_asked(argc, argv, program)) return kExitDone;
  ignore_file_size_signal();
  try {
    return body();
  } catch (const po::error& error) {
    std::fprintf(stderr, "%s: error: %s (see --help)\n", program, error.what());
    return kExitUsage;
  } catch (const ConfigError& error) {
    std::fprintf(stderr, "%s: error: %s\n", program, error.what());
    return kExitUsage;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: error: %s\n", program, failure_text(error).c_str());
    return kExitError;
  }
}

po::options_description options_of(const Settings& settings, const std::string& caption) {
  std::vector<std::string> order;
  std::map<std::string, po::options_description> groups;
  for (const Setting& setting : settings.all()) {
    if (!groups.count(setting.group)) {
      order.push_back(setting.group);
      groups.emplace(setting.group, po::options_description(setting.group));
    }
    po::options_description& group = groups.at(setting.group);
    const auto set = setting.set;
    if (setting.is_list) {
      group.add_options()(setting.key.c_str(),
                          po::value<std::vector<std::string>>()->composing()->notifier(
                              [set](const std::vector<std::string>& items) {
                                for (const std::string& item : items) set(item);
                              }),
                          setting.help.c_str());
    } else if (setting.is_switch) {
      group.add_options()(setting.key.c_str(), po::bool_switch()->notifier([set](bool on) {
        if (on) set("true");
      }),
                          setting.help.c_str());
    } else {
      auto* value =
          po::value<std::string>()->notifier([set](const std::string& text) { set(text); });
      if (!setting.get().empty()) value->default_value(setting.get());
      if (setting.is_bool) value->implicit_value("true");
      group.add_options()(setting.key.c_str(), value, setting.help.c_str());
    }
  }
  po::options_description all(caption);
  for (const std::string& title : order) all.add(groups.at(title));
  return all;
}

namespace {

std::string trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") + 1 - first);
}

// The INI file's "key = value" lines into the settings, except options the command line gave
// (the command line wins). Errors name the file and line: "run.ini:3: hidden-size: ...".
void apply_config_file(const std::string& path, const Settings& settings,
                       const po::variables_map& command_line) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error))
    throw ConfigError(path + ": " +
                      (std::filesystem::exists(path, error) ? "not a regular file"
                                                            : "no such configuration file"));
  std::ifstream file(path);
  if (!file) throw IoError(path + ": cannot open the configuration file");
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    const std::string text = trimmed(line);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    const size_t equals = text.find('=');
    if (equals == std::string::npos)
      throw ConfigError(where + "expected 'key = value', got '" + text + "'");
    const std::string key = trimmed(text.substr(0, equals));
    const Setting* setting = settings.find(key);
    if (!setting || setting->key == "config")
      throw ConfigError(where + "unknown option '" + key + "'");
    if (command_line.count(key) && !command_line[key].defaulted()) continue;
    try {
      setting->set(trimmed(text.substr(equals + 1)));
    } catch (const ConfigError& failure) {
      throw ConfigError(where + failure.what());
    }
  }
}

}  // namespace

void parse_options(int argc, char** argv, const Settings& settings,
                   const po::options_description& options, const std::string& config_option) {
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  po::notify(vm);  // the command line (and the defaults) into the fields
  if (!config_option.empty() && vm.count(config_option) &&
      !vm[config_option].as<std::string>().empty())
    apply_config_file(vm[config_option].as<std::string>(), settings, vm);
}

}  // namespace tandem::apps
