// The spec's public entry points: parse and load (YAML or JSON, every problem reported), the
// architecture table as the library shows it, and disable_memory. The reading itself is table
// driven: spec_fields.cpp (the tables), spec_reader.cpp, spec_objects.cpp, spec_check.cpp.
#include "runtime/core/spec.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <yaml-cpp/yaml.h>

#include "runtime/core/detail/spec_reader.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/utf8.hpp"

namespace swarm {

namespace {

// Files larger than this are refused rather than read into memory.
constexpr size_t max_spec_bytes = 64 * 1024 * 1024;

spec_parse_result single_problem(located_problem problem) {
  spec_parse_result out;
  out.problems.push_back(std::move(problem));
  return out;
}

spec_parse_result parse_document(std::string_view text, std::string_view source) {
  auto parsed = parse_yaml(text);
  if (parsed.problem)
    return single_problem(std::move(*parsed.problem));
  const auto& root = parsed.document->root();
  if (root.is_null())
    return single_problem({"", "spec is empty", 0});
  if (!root.is_mapping())
    return single_problem({"", "expected a mapping at the top level", root.line});
  auto out = detail::spec_reader{}.read(root, source);
  if (out.spec)
    out.spec->text = std::string{text};
  return out;
}

} // namespace

spec_parse_result parse_spec(std::string_view raw_text, std::string_view source) {
  // A spec is text entering the runtime: yaml-cpp passes invalid UTF-8 through into prompts,
  // where it would make every request JSON invalid. Each invalid sequence becomes U+FFFD here,
  // once, for every way a spec is loaded (file, text, a journaled run's spec).
  std::string repaired_text;
  size_t repaired = 0;
  std::string_view text = raw_text;
  if (!is_valid_utf8(raw_text)) {
    repaired_text.assign(raw_text);
    repaired = repair_utf8(repaired_text);
    text = repaired_text;
  }
  // Nothing may escape: a problem is a value.
  try {
    auto out = parse_document(text, source);
    if (out.spec)
      out.spec->repaired = static_cast<uint32_t>(repaired);
    return out;
  } catch (const std::exception& e) {
    return single_problem({"", std::string{"cannot read spec: "} + e.what(), 0});
  } catch (...) {
    return single_problem({"", "cannot read spec: unknown error", 0});
  }
}

caf::expected<swarm_spec> load_spec_text(std::string_view text, std::string_view source) {
  auto parsed = parse_spec(text, source);
  if (parsed.spec)
    return std::move(*parsed.spec);
  return make_error(errc::invalid_spec, problems_text(source, parsed.problems));
}

caf::expected<swarm_spec> load_spec(const std::string& path) {
  auto io_error = [&](int code) {
    return make_error(errc::io_error, "cannot read spec '" + path + "': " + std::strerror(code));
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{std::fopen(path.c_str(), "rb"),
                                                       &std::fclose};
  if (!file)
    return io_error(errno);
  std::string text;
  char buffer[65536];
  errno = 0;
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) {
    text.append(buffer, n);
    if (text.size() > max_spec_bytes)
      return io_error(EFBIG);
  }
  if (std::ferror(file.get()))
    return io_error(errno != 0 ? errno : EIO);
  return load_spec_text(text, path);
}

const agent_spec* swarm_spec::find_agent(const std::string& name) const {
  for (const auto& a : agents)
    if (a.name == name)
      return &a;
  return nullptr;
}

const swarm_node_spec* swarm_spec::find_swarm(const std::string& name) const {
  for (const auto& s : swarms)
    if (s.name == name)
      return &s;
  return nullptr;
}

void disable_memory(swarm_spec& spec) {
  auto is_memory_tool = [](std::string_view name) {
    return name == "memory_search" || name == "memory_write";
  };
  spec.memory.working = false;
  spec.memory.long_term = false;
  std::erase_if(spec.tools, [&](const tool_decl& t) { return is_memory_tool(t.name); });
  for (auto& a : spec.agents)
    std::erase_if(a.tools, is_memory_tool);
  if (spec.text.empty())
    return;
  // The same edits on the text: it was parsed before, so it loads.
  YAML::Node root;
  try {
    root = YAML::Load(spec.text);
  } catch (const YAML::Exception&) {
    return;
  }
  if (!root.IsMap())
    return;
  // A copy of `list` without the memory tools; `name_of` reads an item's tool name.
  auto without_memory_tools = [&](const YAML::Node& list, auto name_of) {
    YAML::Node kept{YAML::NodeType::Sequence};
    for (const auto& item : list)
      if (!is_memory_tool(name_of(item)))
        kept.push_back(item);
    return kept;
  };
  // A missing key reads as an invalid node, whose type queries throw: IsDefined() first.
  auto scalar = [](const YAML::Node& x) {
    return x.IsDefined() && x.IsScalar() ? x.Scalar() : std::string{};
  };
  // Lookups through const nodes: a non-const operator[] would add the keys it does not find.
  auto has = [](const YAML::Node& parent, const char* key, YAML::NodeType::value type) {
    const YAML::Node& p = parent;
    return p.IsMap() && p[key].IsDefined() && p[key].Type() == type;
  };
  if (has(root, "memory", YAML::NodeType::Map)) {
    root["memory"]["working"] = false;
    root["memory"]["long_term"] = false;
  }
  if (has(root, "tools", YAML::NodeType::Sequence))
    root["tools"] = without_memory_tools(root["tools"], [&](const YAML::Node& t) {
      return t.IsMap() ? scalar(t["name"]) : scalar(t);
    });
  if (has(root, "agents", YAML::NodeType::Sequence))
    for (YAML::Node agent : root["agents"])
      if (has(agent, "tools", YAML::NodeType::Sequence))
        agent["tools"] = without_memory_tools(agent["tools"], scalar);
  YAML::Emitter out;
  out << root;
  if (out.good())
    spec.text = out.c_str();
}

const std::vector<std::string>& supported_architectures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& a : detail::architecture_entries())
      out.emplace_back(a.name);
    return out;
  }();
  return names;
}

std::span<const architecture_info> architectures() {
  // The keys of each architecture are its option table's.
  struct listing {
    std::vector<std::vector<std::string_view>> keys;
    std::vector<architecture_info> infos;
  };
  static const listing all = [] {
    listing out;
    auto entries = detail::architecture_entries();
    for (const auto& a : entries) {
      auto& keys = out.keys.emplace_back();
      for (const auto& f : a.options->fields)
        keys.push_back(f.key);
    }
    for (size_t i = 0; i < entries.size(); ++i)
      out.infos.push_back({entries[i].name, entries[i].summary, out.keys[i]});
    return out;
  }();
  return all.infos;
}

std::span<const std::string_view> common_swarm_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> out;
    for (const auto& f : detail::swarm_table.fields)
      out.push_back(f.key);
    return out;
  }();
  return keys;
}

} // namespace swarm
