// `swarm init [--architecture A] NAME`: writes NAME.yaml (a commented spec of that architecture)
// and NAME.mock.yaml (its mock script), so a new swarm runs against `swarm mock-llm` at once.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/swarm/commands.hpp"
#include "apps/swarm/init_templates.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/spec.hpp"

namespace swarm::cli {

namespace {

struct init_args {
  std::string name; // a path without extension: "my_swarm", "specs/my_swarm"
  std::string architecture = "concurrent";
};

std::string replace_all(std::string_view text, std::string_view from, const std::string& to) {
  std::string out;
  size_t start = 0;
  for (auto at = text.find(from); at != std::string_view::npos; at = text.find(from, start)) {
    out.append(text.substr(start, at - start));
    out += to;
    start = at + from.size();
  }
  out.append(text.substr(start));
  return out;
}

bool is_name(const std::string& x) {
  return !x.empty() && x.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789_-") == std::string::npos;
}

// Creates `path` with `text`; fails if it exists (fopen "x": no race with another writer).
caf::error write_new(const std::string& path, const std::string& text) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{std::fopen(path.c_str(), "wx"),
                                                       &std::fclose};
  if (!file)
    return make_error(errno == EEXIST ? errc::invalid_argument : errc::io_error,
                      "cannot create '" + path + "': " + std::strerror(errno));
  if (std::fwrite(text.data(), 1, text.size(), file.get()) != text.size() ||
      std::fflush(file.get()) != 0)
    return make_error(errc::io_error, "cannot write '" + path + "': " + std::strerror(errno));
  return {};
}

int init(const init_args& args) {
  auto fail = [](const std::string& message) {
    std::cerr << "swarm init: " << message << "\n";
    return static_cast<int>(exit_usage);
  };
  const auto* tpl = find_init_template(args.architecture);
  if (tpl == nullptr)
    return fail("no template for architecture '" + args.architecture + "'");
  auto name = std::filesystem::path{args.name}.filename().string();
  if (!is_name(name))
    return fail("the name '" + name + "' must be letters, digits, '_' or '-' (it becomes the " +
                "spec's name; files get .yaml and .mock.yaml)");
  auto spec_path = args.name + ".yaml";
  auto mock_path = args.name + ".mock.yaml";
  for (const auto& path : {spec_path, mock_path})
    if (std::error_code ec; std::filesystem::exists(path, ec))
      return fail("'" + path + "' already exists; not overwriting it");

  std::string header =
      "# " + name + ": a " + args.architecture + " swarm, written by `swarm init`.\n" +
      "# Try it against the scripted mock LLM, then point --llm-url at a real "
      "endpoint:\n" +
      "#   swarm mock-llm --port 8089 --script " + mock_path + " &\n" + "#   swarm run " +
      spec_path + " --task \"" + std::string{tpl->task} +
      "\" --llm-url http://127.0.0.1:8089/v1\n" + "# After an edit, `swarm validate " + spec_path +
      "` lists every problem with its line.\n" +
      "# Every key: `swarm architectures` and docs/architectures.md.\n";
  auto spec_text =
      header + replace_all(replace_all(tpl->spec, "@NAME@", name), "@FILE@", args.name);
  auto mock_text = replace_all(replace_all(tpl->mock, "@NAME@", name), "@FILE@", args.name);
  // A template that does not load is a bug of this program, not of the user's input.
  if (auto loaded = load_spec_text(spec_text, spec_path); !loaded) {
    std::cerr << "swarm init: the template is invalid: " << describe(loaded.error()) << "\n";
    return exit_failed;
  }
  if (auto err = write_new(spec_path, spec_text))
    return fail(describe(err));
  if (auto err = write_new(mock_path, mock_text)) {
    std::filesystem::remove(spec_path); // not half a pair
    return fail(describe(err));
  }
  std::cout << "wrote " << spec_path << " (" << args.architecture << " swarm '" << name << "') and "
            << mock_path << " (its mock script)\n"
            << "try it:\n"
            << "  swarm mock-llm --port 8089 --script " << mock_path << " &\n"
            << "  swarm run " << spec_path << " --task \"" << tpl->task
            << "\" --llm-url http://127.0.0.1:8089/v1\n";
  return exit_ok;
}

} // namespace

command add_init_command(CLI::App& app) {
  auto args = std::make_shared<init_args>();
  auto* sub = app.add_subcommand(
      "init", "write NAME.yaml (a commented spec) and NAME.mock.yaml (its mock script)");
  sub->add_option("name", args->name, "the swarm's name, optionally with a directory")->required();
  sub->add_option("--architecture,-a", args->architecture, "the swarm's architecture")
      ->check(CLI::IsMember(supported_architectures()))
      ->capture_default_str();
  return [args] { return init(*args); };
}

} // namespace swarm::cli
