// YAML text -> a tree of located values, built from yaml-cpp's parser events in one bounded pass;
// YAML values -> JSON text. Shared by the spec reader and the mock LLM's script reader.
#include "runtime/core/yaml_tree.hpp"

#include <exception>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace swarm {

const yaml_node* yaml_node::find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k->is_scalar() && k->text == key)
      return v;
  return nullptr;
}

yaml_document::yaml_document() {
  root_ = &nodes_.emplace_back();
}

namespace {

/// Thrown by the builder to stop the parse at a problem of its own.
struct stop_parse {
  located_problem problem;
};

int line_of(const YAML::Mark& mark) {
  return mark.line + 1;
}

} // namespace

/// Builds the first document's tree from parser events; counts documents, bounds nesting.
class yaml_builder final : public YAML::EventHandler {
public:
  explicit yaml_builder(yaml_document& document) : document_(document) {}

  size_t documents = 0;
  YAML::Mark second; ///< start of the second document, if any

  /// yaml-cpp 0.7 can stall on a stray token (a lone ',' at the top): it then reports empty
  /// documents at the same place forever (jbeder/yaml-cpp#1040). Every other document consumes
  /// input, so this ends the loop.
  bool stalled() const { return documents >= 2 && last_.pos == previous_.pos; }
  const YAML::Mark& last() const { return last_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2)
      second = mark;
    previous_ = last_;
    last_ = mark;
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (building())
      add(make(yaml_node::kind::null, mark, anchor));
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (!building())
      return;
    auto i = anchors_.find(anchor);
    if (i == anchors_.end()) // the parser reports undefined anchors itself
      throw stop_parse{{"", "YAML alias to an unknown anchor", line_of(mark)}};
    if (open_.contains(i->second))
      throw stop_parse{
          {"", "YAML alias inside the node its anchor names (a recursive value)", line_of(mark)}};
    add(i->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (!building())
      return;
    auto* node = make(yaml_node::kind::scalar, mark, anchor);
    node->quoted = tag == "!"; // yaml-cpp's tag of every quoted or block scalar
    node->text = value;
    add(node);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    enter(mark, yaml_node::kind::sequence, anchor);
  }
  void OnSequenceEnd() override { leave(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    enter(mark, yaml_node::kind::mapping, anchor);
  }
  void OnMapEnd() override { leave(); }

private:
  struct open_collection {
    yaml_node* node = nullptr; ///< nullptr past the first document
    const yaml_node* key = nullptr;
    bool has_key = false;
  };

  bool building() const { return documents == 1; }

  yaml_node* make(yaml_node::kind type, const YAML::Mark& mark, YAML::anchor_t anchor) {
    auto& node = document_.nodes_.emplace_back();
    node.type = type;
    node.line = line_of(mark);
    if (anchor != YAML::NullAnchor)
      anchors_[anchor] = &node;
    return &node;
  }

  void add(const yaml_node* node) {
    if (stack_.empty()) {
      document_.root_ = node;
      return;
    }
    auto& top = stack_.back();
    if (top.node->is_sequence()) {
      top.node->items.push_back(node);
    } else if (!top.has_key) {
      top.key = node;
      top.has_key = true;
    } else {
      top.node->entries.emplace_back(top.key, node);
      top.has_key = false;
    }
  }

  void enter(const YAML::Mark& mark, yaml_node::kind type, YAML::anchor_t anchor) {
    if (stack_.size() >= static_cast<size_t>(max_yaml_depth))
      throw stop_parse{{"",
                        "YAML nesting deeper than " + std::to_string(max_yaml_depth) +
                            " levels (sequences and mappings inside each other)",
                        line_of(mark)}};
    yaml_node* node = nullptr;
    if (building()) {
      node = make(type, mark, anchor);
      open_.insert(node);
    }
    stack_.push_back({node, nullptr, false});
  }

  void leave() {
    if (stack_.empty())
      return;
    auto* node = stack_.back().node;
    stack_.pop_back();
    if (node) {
      open_.erase(node);
      add(node);
    }
  }

  yaml_document& document_;
  std::vector<open_collection> stack_;
  std::unordered_map<YAML::anchor_t, const yaml_node*> anchors_;
  std::unordered_set<const yaml_node*> open_;
  YAML::Mark previous_;
  YAML::Mark last_;
};

yaml_parse_result parse_yaml(std::string_view text) {
  yaml_parse_result out;
  auto fail = [&](std::string message, int line) {
    out.problem = located_problem{"", std::move(message), line};
    return std::move(out);
  };
  yaml_document document;
  yaml_builder builder{document};
  try {
    std::istringstream in{std::string{text}};
    YAML::Parser parser{in};
    while (parser.HandleNextDocument(builder)) {
      if (builder.stalled()) {
        auto pos = static_cast<size_t>(builder.last().pos);
        auto c = pos < text.size() ? text[pos] : '\0';
        auto what = c > ' ' && c < 0x7f ? std::string{"'"} + c + "'" : std::string{"byte"};
        return fail("YAML syntax error: unexpected " + what, line_of(builder.last()));
      }
    }
  } catch (const stop_parse& e) {
    out.problem = e.problem;
    return out;
  } catch (const YAML::DeepRecursion& e) {
    return fail("YAML nesting deeper than " + std::to_string(e.depth() - 1) + " levels",
                line_of(e.mark));
  } catch (const YAML::ParserException& e) {
    return fail("YAML syntax error: " + e.msg, line_of(e.mark));
  } catch (const std::exception& e) {
    return fail(std::string{"cannot read YAML: "} + e.what(), 0);
  }
  if (builder.documents > 1)
    return fail("expected one YAML document", line_of(builder.second));
  out.document = std::move(document);
  return out;
}

bool is_json_number(std::string_view x) {
  size_t i = 0;
  auto digits = [&] {
    auto start = i;
    while (i < x.size() && x[i] >= '0' && x[i] <= '9')
      ++i;
    return i > start;
  };
  if (i < x.size() && x[i] == '-')
    ++i;
  if (i < x.size() && x[i] == '0')
    ++i;
  else if (!digits())
    return false;
  if (i < x.size() && x[i] == '.') {
    ++i;
    if (!digits())
      return false;
  }
  if (i < x.size() && (x[i] == 'e' || x[i] == 'E')) {
    ++i;
    if (i < x.size() && (x[i] == '+' || x[i] == '-'))
      ++i;
    if (!digits())
      return false;
  }
  return i == x.size();
}

void append_json_string(std::string_view x, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : x) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

namespace {

std::optional<std::string> to_json(const yaml_node& x, std::string& out, const json_limits& limits,
                                   size_t depth) {
  auto too_large = [&] {
    return "is larger than " + std::to_string(limits.max_bytes) + " bytes as JSON";
  };
  if (depth > limits.max_depth)
    return "nests deeper than " + std::to_string(limits.max_depth) + " levels";
  if (out.size() > limits.max_bytes)
    return too_large();
  switch (x.type) {
  case yaml_node::kind::null:
    out += "null";
    break;
  case yaml_node::kind::scalar: {
    const auto& text = x.text;
    if (!x.is_plain())
      append_json_string(text, out);
    else if (text == "null" || text == "Null" || text == "NULL" || text == "~")
      out += "null";
    else if (text == "true" || text == "True" || text == "TRUE")
      out += "true";
    else if (text == "false" || text == "False" || text == "FALSE")
      out += "false";
    else if (is_json_number(text))
      out += text;
    else
      append_json_string(text, out);
    break;
  }
  case yaml_node::kind::sequence: {
    out += '[';
    bool first = true;
    for (const auto* item : x.items) {
      if (!first)
        out += ',';
      first = false;
      if (auto problem = to_json(*item, out, limits, depth + 1))
        return problem;
    }
    out += ']';
    break;
  }
  case yaml_node::kind::mapping: {
    out += '{';
    bool first = true;
    std::unordered_map<std::string_view, int> seen;
    for (const auto& [key, value] : x.entries) {
      if (!key->is_scalar())
        return "has a key that is not a string (line " + std::to_string(key->line) + ")";
      if (!seen.emplace(key->text, 0).second)
        return "has the key '" + excerpt(key->text) + "' twice (line " + std::to_string(key->line) +
               ")";
      if (!first)
        out += ',';
      first = false;
      append_json_string(key->text, out);
      out += ':';
      if (auto problem = to_json(*value, out, limits, depth + 1))
        return problem;
    }
    out += '}';
    break;
  }
  }
  if (out.size() > limits.max_bytes)
    return too_large();
  return std::nullopt;
}

} // namespace

std::optional<std::string> yaml_to_json(const yaml_node& x, std::string& out,
                                        const json_limits& limits) {
  return to_json(x, out, limits, 0);
}

} // namespace swarm
