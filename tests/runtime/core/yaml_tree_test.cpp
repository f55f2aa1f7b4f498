// Tests of the shared YAML reader: values with their lines, quoting, aliases as shared nodes,
// the problems that stop a document, and YAML values as JSON text.
#include <string>

#include <catch2/catch.hpp>

#include "runtime/core/yaml_tree.hpp"

namespace {

const swarm::yaml_node& parsed(swarm::yaml_parse_result& r) {
  REQUIRE_FALSE(r.problem);
  REQUIRE(r.document);
  return r.document->root();
}

std::string problem_of(std::string_view text) {
  auto r = swarm::parse_yaml(text);
  REQUIRE(r.problem);
  CHECK_FALSE(r.document);
  return swarm::to_string(*r.problem);
}

std::string json_of(std::string_view text, const swarm::json_limits& limits = {}) {
  auto r = swarm::parse_yaml(text);
  std::string out;
  if (auto problem = swarm::yaml_to_json(parsed(r), out, limits))
    return "problem: " + *problem;
  return out;
}

} // namespace

TEST_CASE("values keep their type, quoting and line") {
  auto r = swarm::parse_yaml("a: 1\nb: \"2\"\nc:\n  - x\n  - {d: ~}\ne: |\n  text\n");
  const auto& root = parsed(r);
  REQUIRE(root.is_mapping());
  REQUIRE(root.entries.size() == 4);
  CHECK(root.line == 1);
  const auto* a = root.find("a");
  REQUIRE(a);
  CHECK(a->is_plain());
  CHECK(a->text == "1");
  CHECK(root.find("b")->quoted);
  const auto* c = root.find("c");
  REQUIRE(c->is_sequence());
  CHECK(c->line == 4);
  REQUIRE(c->items.size() == 2);
  CHECK(c->items[1]->line == 5);
  CHECK(c->items[1]->find("d")->is_null());
  CHECK(root.find("e")->quoted); // a block scalar is a string
  CHECK(root.find("e")->text == "text\n");
  CHECK(root.entries[3].first->line == 6);
  CHECK(root.find("missing") == nullptr);
}

TEST_CASE("an empty document is a null root") {
  for (std::string_view text : {"", "# nothing\n", "~\n", "---\n...\n"}) {
    auto r = swarm::parse_yaml(text);
    CHECK(parsed(r).is_null());
  }
}

TEST_CASE("aliases share the anchored node, so a billion laughs stays small") {
  std::string laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 40; ++i)
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" +
              std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  auto r = swarm::parse_yaml(laughs);
  const auto& root = parsed(r);
  const auto* last = root.find("a39");
  REQUIRE(last);
  CHECK(last->items[0] == last->items[1]);
  std::string out;
  CHECK(swarm::yaml_to_json(*last, out) == "is larger than 65536 bytes as JSON");
}

TEST_CASE("problems that stop a document are located") {
  CHECK(problem_of("a: [1\n") == "YAML syntax error: end of sequence flow not found (line 2)");
  CHECK(problem_of("a: 1\n---\nb: 2\n") == "expected one YAML document (line 2)");
  CHECK(problem_of(",") == "YAML syntax error: unexpected ',' (line 1)");
  CHECK(problem_of(std::string(1000, '[')) ==
        "YAML nesting deeper than 128 levels (sequences and mappings inside each other) "
        "(line 1)");
  CHECK(problem_of("a: &x {b: *x}\n") ==
        "YAML alias inside the node its anchor names (a recursive value) (line 1)");
  CHECK(problem_of("b: *nope\n") ==
        "YAML syntax error: the referenced anchor is not defined (line 1)");
}

TEST_CASE("YAML becomes JSON with plain scalars typed and everything else a string") {
  CHECK(json_of("{a: 1, b: '1', c: true, d: ~, e: -1.5e3, f: 0x10, g: [x, {h: null}], i:}") ==
        R"({"a":1,"b":"1","c":true,"d":null,"e":-1.5e3,"f":"0x10","g":["x",{"h":null}],"i":null})");
  CHECK(json_of("a: \"tab\\there \\u0001\"\n") == R"({"a":"tab\there \u0001"})");
  CHECK(json_of("{a: 1, a: 2}") == "problem: has the key 'a' twice (line 1)");
  CHECK(json_of("? [k]\n: 1\n") == "problem: has a key that is not a string (line 1)");
  CHECK(json_of("[[[[1]]]]", {.max_depth = 3}) == "problem: nests deeper than 3 levels");
  CHECK(json_of("[[[1]]]", {.max_depth = 3}) == "[[[1]]]");
  CHECK(json_of("[aaaaaaaaaa]", {.max_bytes = 8}) == "problem: is larger than 8 bytes as JSON");
}
