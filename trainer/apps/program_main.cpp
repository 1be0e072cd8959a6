#include "trainer/apps/program_main.h"

#include <cstdio>
#include <fstream>
#include <map>

#include "ops/errors.h"
#include "ops/exit_codes.h"

namespace tandem::apps {

namespace po = boost::program_options;

int run_program(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const po::error& error) {
    std::fprintf(stderr, "%s: error: %s (see --help)\n", program, error.what());
    return kExitUsage;
  } catch (const ConfigError& error) {
    std::fprintf(stderr, "%s: error: %s\n", program, error.what());
    return kExitUsage;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: error: %s\n", program, error.what());
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
    if (setting.is_switch) {
      group.add_options()(setting.key.c_str(), po::bool_switch()->notifier([set](bool on) {
        if (on) set("true");
      }),
                          setting.help.c_str());
    } else {
      auto* value =
          po::value<std::string>()->notifier([set](const std::string& text) { set(text); });
      if (!setting.get().empty()) value->default_value(setting.get());
      group.add_options()(setting.key.c_str(), value, setting.help.c_str());
    }
  }
  po::options_description all(caption);
  for (const std::string& title : order) all.add(groups.at(title));
  return all;
}

void parse_options(int argc, char** argv, const po::options_description& options,
                   const std::string& config_option) {
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  if (!config_option.empty() && vm.count(config_option) &&
      !vm[config_option].as<std::string>().empty()) {
    const std::string path = vm[config_option].as<std::string>();
    std::ifstream file(path);
    if (!file) throw IoError(path + ": cannot open the configuration file");
    po::store(po::parse_config_file(file, options), vm);  // does not override the command line
  }
  po::notify(vm);
}

}  // namespace tandem::apps
