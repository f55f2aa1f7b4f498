// Tests of the spec as data: the field tables are well formed, every documented default is the
// reader's, every key of every table is suggested when misspelled, the JSON Schema and reference
// cover every key, and hostile graphs of 100,000 nodes are checked without recursion.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "runtime/core/detail/spec_fields.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/core/spec_schema.hpp"
#include "tests/support/small_stack.hpp"

namespace {

using namespace swarm::detail;

/// Every field of a spec but where it was written (lines, source, text), one per line.
std::string spec_text(const swarm::swarm_spec& s) {
  std::ostringstream out;
  auto opt = [&](const auto& x) {
    if (x)
      out << *x;
    else
      out << "-";
    out << ' ';
  };
  auto llm = [&](const swarm::llm_settings& l) {
    opt(l.url);
    opt(l.model);
    opt(l.api_key_env);
    opt(l.temperature);
    opt(l.max_tokens);
    opt(l.stream);
    out << (l.timeout ? l.timeout->count() : -1) << '\n';
    if (l.fallbacks) {
      out << "fallbacks:";
      for (const auto& f : *l.fallbacks) {
        out << f.url << ' ';
        opt(f.model);
        opt(f.api_key_env);
      }
      out << '\n';
    }
  };
  auto budget = [&](const swarm::budget_spec& b) { out << b.tokens << ' ' << b.usd << '\n'; };
  auto swarm = [&](const swarm::swarm_node_spec& n) {
    out << n.name << ' ' << n.architecture << ' ';
    for (const auto& m : n.members)
      out << m << ',';
    out << '\n'
        << n.guards.member_timeout.count() << ' ' << n.guards.max_rounds << ' '
        << n.guards.max_messages << ' ' << n.guards.deadline.count() << '\n';
    const auto& h = n.hierarchical;
    out << h.lead << ' ' << h.max_subtasks << ' ' << h.max_attempts << ' ' << h.review << '\n';
    const auto& c = n.collaborative;
    out << c.decision << ' ' << c.normalize << ' ' << c.pattern << ' ' << c.field << ' ' << c.quorum
        << ' ' << c.tie << ' ' << c.threshold << ' ' << c.aggregator << ' ' << c.layers << ' ';
    for (const auto& [m, w] : c.weights)
      out << m << '=' << w << ',';
    out << '\n';
    const auto& k = n.competitive;
    out << k.select << ' ' << k.judge << ' ' << k.criteria << ' ' << k.k << '\n';
    const auto& g = n.group_chat;
    out << g.speaker << ' ' << g.selector << ' ' << g.max_turns << ' ' << g.terminate_on << ' '
        << g.judge << '\n';
    for (const auto& e : n.graph.edges)
      out << e.from << '>' << e.to << '?' << e.when << ',';
    out << '\n' << n.router.router << ' ' << n.router.fallback << ' ';
    for (const auto& r : n.router.routes)
      out << r.match << '>' << r.to << ',';
    out << '\n';
    budget(n.budget);
  };
  out << s.name << '\n' << s.description << '\n';
  llm(s.llm);
  swarm(s.root);
  for (const auto& x : s.swarms)
    swarm(x);
  for (const auto& a : s.agents) {
    out << a.name << ' ' << a.role << ' ' << a.system_prompt << ' ' << a.short_term_tokens << ' '
        << a.logprobs << ' ' << a.max_tool_steps << ' ';
    for (const auto& x : a.skills)
      out << x << ',';
    for (const auto& x : a.tools)
      out << x << ';';
    out << '\n';
    llm(a.llm);
    budget(a.budget);
  }
  const auto& r = s.resources;
  for (const auto& e : r.endpoints)
    out << e.url << ' ' << e.max_concurrent << ' ' << e.requests_per_minute << ' '
        << e.tokens_per_minute << '\n';
  budget(r.runtime);
  budget(r.per_swarm);
  budget(r.per_agent);
  for (const auto& p : r.prices)
    out << p.model << ' ' << p.prompt_per_million << ' ' << p.completion_per_million << '\n';
  out << r.grant_timeout.count() << '\n';
  for (const auto& t : s.tools) {
    out << t.name << ' ' << t.description << ' ' << t.parameters << ' ' << t.needs_approval << ' ';
    for (const auto& x : t.command)
      out << x << ',';
    for (const auto& x : t.allow_hosts)
      out << x << ';';
    const auto& b = t.sandbox;
    out << b.network << ' ' << b.timeout.count() << ' ' << b.cpu_seconds << ' ' << b.memory_mb
        << ' ' << b.max_processes << ' ' << b.max_file_mb << ' ' << b.max_output_kb << '\n';
  }
  const auto& m = s.memory;
  out << m.working << m.long_term << m.consolidate << ' ' << m.recall_k << ' ' << m.overflow << ' ';
  opt(m.embeddings_model);
  opt(m.embeddings_url);
  return out.str();
}

/// A valid spec with `kv` ("key: value") placed in an object of table `name`; every table has
/// one, so a new table without a place here fails the tests below.
std::string spec_with(std::string_view table_name, const std::string& kv) {
  const std::string agents = "agents: [{name: a}, {name: b}]\n";
  auto swarm_of = [&](std::string_view options) {
    return "name: demo\n" + agents + "swarm: {" + std::string{options} + "}\n";
  };
  static const std::map<std::string_view, std::string_view> architecture_needs{
      {"concurrent", ""},
      {"sequential", ""},
      {"hierarchical", "lead: a, "},
      {"collaborative", ""},
      {"competitive", "judge: a, "},
      {"group_chat", ""},
      {"graph", "edges: [{from: a, to: b}], "},
      {"router", "router: a, "}};
  if (auto i = architecture_needs.find(table_name); i != architecture_needs.end()) {
    // The option itself may be what the architecture needs: given once.
    std::string needs{i->second};
    if (!kv.empty() && needs.starts_with(kv.substr(0, kv.find(':'))))
      needs.clear();
    return swarm_of("architecture: " + std::string{table_name} + ", " + needs + kv);
  }
  if (table_name == "spec")
    return "name: demo\n" + agents + kv + "\n";
  if (table_name == "llm")
    return "name: demo\n" + agents + "llm: {" + kv + "}\n";
  if (table_name == "llm_fallback")
    return "name: demo\n" + agents + "llm: {fallbacks: [{url: http://x:1/v1, " + kv + "}]}\n";
  if (table_name == "swarm")
    return swarm_of(kv);
  if (table_name == "supervision")
    return swarm_of("supervision: {" + kv + "}");
  if (table_name == "edge")
    return swarm_of("architecture: graph, edges: [{from: a, to: b, " + kv + "}]");
  if (table_name == "route")
    return swarm_of("architecture: router, routes: [{match: x, to: a, " + kv + "}]");
  if (table_name == "agent")
    return "name: demo\nagents: [{name: a, " + kv + "}, {name: b}]\n";
  if (table_name == "budget")
    return "name: demo\nagents: [{name: a, budget: {" + kv + "}}]\n";
  if (table_name == "resources")
    return "name: demo\n" + agents + "resources: {" + kv + "}\n";
  if (table_name == "endpoint")
    return "name: demo\n" + agents + "resources: {endpoints: [{url: default, " + kv + "}]}\n";
  if (table_name == "price")
    return "name: demo\n" + agents + "resources: {prices: [{model: m, " + kv + "}]}\n";
  if (table_name == "tool")
    return "name: demo\n" + agents + "tools: [{name: shell, " + kv + "}]\n";
  if (table_name == "sandbox")
    return "name: demo\n" + agents + "tools: [{name: shell, sandbox: {" + kv + "}}]\n";
  if (table_name == "memory")
    return "name: demo\n" + agents + "memory: {" + kv + "}\n";
  FAIL("no spec places a key of table " << table_name);
  return {};
}

} // namespace

TEST_CASE("the field tables are well formed") {
  std::set<const table*> seen;
  for (const auto* t : all_tables()) {
    CAPTURE(t->name);
    CHECK(seen.insert(t).second);
    CHECK(!t->doc.empty());
    std::set<std::string_view> keys;
    for (const auto& f : t->fields) {
      CAPTURE(f.key);
      CHECK(keys.insert(f.key).second);
      CHECK(!f.doc.empty());
      if (f.kind == value_kind::integer)
        CHECK(f.min <= f.max);
      if (f.kind == value_kind::number)
        CHECK(f.low < f.high);
      if (f.kind == value_kind::list || f.kind == value_kind::map)
        REQUIRE(f.item);
      if (f.kind == value_kind::object)
        CHECK(seen.count(f.object) +
                  std::count(all_tables().begin(), all_tables().end(), f.object) >
              0);
      // A default is JSON the schema can carry, or a description in parentheses.
      if (!f.fallback.empty() && f.fallback.front() != '(')
        CHECK_NOTHROW(boost::json::parse(f.fallback));
      if (f.kind == value_kind::choice && !f.fallback.empty())
        CHECK(std::count(f.choices.begin(), f.choices.end(), default_text(f)) == 1);
    }
  }
  // Every architecture has its option table among the tables.
  for (const auto& a : architecture_entries())
    CHECK(std::count(all_tables().begin(), all_tables().end(), a.options) == 1);
}

TEST_CASE("every documented default is what the reader leaves when the key is absent") {
  size_t checked = 0;
  for (const auto* t : all_tables()) {
    auto without = swarm::parse_spec(spec_with(t->name, ""));
    CAPTURE(t->name);
    INFO(swarm::problems_text("", without.problems));
    REQUIRE(without.spec);
    for (const auto& f : t->fields) {
      if (f.fallback.empty() || f.fallback.front() == '(')
        continue;
      CAPTURE(f.key);
      auto with = swarm::parse_spec(
          spec_with(t->name, std::string{f.key} + ": " + std::string{f.fallback}));
      INFO(swarm::problems_text("", with.problems));
      REQUIRE(with.spec);
      CHECK(spec_text(*with.spec) == spec_text(*without.spec));
      ++checked;
    }
  }
  CHECK(checked > 50);
}

TEST_CASE("a misspelled key of any table is reported with the key it misses") {
  size_t checked = 0;
  for (const auto* t : all_tables()) {
    for (const auto& f : t->fields) {
      CAPTURE(t->name, f.key);
      auto typo = std::string{f.key} + "x";
      auto result = swarm::parse_spec(spec_with(t->name, typo + ": 1"));
      auto expected = typo + ": unknown key (did you mean '" + std::string{f.key} + "'?)";
      CHECK(std::any_of(result.problems.begin(), result.problems.end(), [&](const auto& p) {
        return swarm::to_string(p).find(expected) != std::string::npos;
      }));
      ++checked;
    }
  }
  CHECK(checked > 80);
}

TEST_CASE("the JSON Schema is draft 2020-12 and has every key of every table") {
  auto schema = boost::json::parse(swarm::spec_json_schema()).as_object();
  CHECK(schema.at("$schema") == "https://json-schema.org/draft/2020-12/schema");
  auto properties_of = [&](std::string_view name) -> const boost::json::object& {
    if (name == "spec")
      return schema.at("properties").as_object();
    return schema.at("$defs").at(name).at("properties").as_object();
  };
  for (const auto* t : all_tables()) {
    CAPTURE(t->name);
    bool is_options = std::any_of(architecture_entries().begin(), architecture_entries().end(),
                                  [&](const architecture_entry& a) { return a.options == t; });
    const auto& properties = properties_of(is_options ? "swarm" : t->name);
    for (const auto& f : t->fields) {
      CAPTURE(f.key);
      REQUIRE(properties.contains(f.key));
      CHECK(properties.at(f.key).as_object().contains("description"));
    }
  }
  CHECK(properties_of("agent").contains("temperature")); // the agent's LLM keys
}

TEST_CASE("the reference lists every key of every table") {
  auto markdown = swarm::spec_reference_markdown();
  for (const auto* t : all_tables())
    for (const auto& f : t->fields) {
      CAPTURE(t->name, f.key);
      CHECK(markdown.find("| `" + std::string{f.key} + "` | ") != std::string::npos);
    }
}

TEST_CASE("a hostile graph of 100,000 members is checked on a small stack") {
  constexpr int n = 100'000;
  std::string spec = "name: demo\nagents:\n";
  for (int i = 0; i < n; ++i)
    spec += "  - {name: a" + std::to_string(i) + "}\n";
  spec += "swarm:\n  architecture: graph\n  edges:\n";
  for (int i = 0; i + 1 < n; ++i)
    spec += "    - {from: a" + std::to_string(i) + ", to: a" + std::to_string(i + 1) + "}\n";
  auto closing_line = 2 * n + 5; // edges start on line n + 6
  swarm::spec_parse_result acyclic, cyclic;
  swarm::test::run_on_small_stack(4 * 1024 * 1024, [&] {
    acyclic = swarm::parse_spec(spec);
    cyclic = swarm::parse_spec(spec + "    - {from: a" + std::to_string(n - 1) + ", to: a0}\n");
  });
  CHECK(acyclic.spec);
  CHECK(acyclic.problems.empty());
  REQUIRE(cyclic.problems.size() == 1);
  CHECK(swarm::to_string(cyclic.problems[0]) ==
        "swarm.edges[99999]: cycle a0 -> a1 -> a2 -> a3 -> a4 -> ... -> a99998 -> a99999 -> a0 "
        "(line " +
            std::to_string(closing_line) + ")");
}

TEST_CASE("hostile sub-swarm trees of 100,000 swarms are checked on a small stack") {
  constexpr int n = 100'000;
  auto tree = [](bool ring) {
    std::string spec = "name: demo\nagents: [{name: a}]\nswarm: {members: [s0]}\nswarms:\n";
    for (int i = 0; i < n; ++i) {
      auto next = i + 1 < n ? "s" + std::to_string(i + 1) : std::string{ring ? "s0" : "a"};
      spec += "  s" + std::to_string(i) + ": {members: [" + next + "]}\n";
    }
    return spec;
  };
  swarm::spec_parse_result chain, ring;
  swarm::test::run_on_small_stack(4 * 1024 * 1024, [&] {
    chain = swarm::parse_spec(tree(false));
    ring = swarm::parse_spec(tree(true));
  });
  REQUIRE(chain.problems.size() == 1);
  CHECK(swarm::to_string(chain.problems[0]) ==
        "swarm.members: sub-swarms nest deeper than 16 levels (line 3)");
  REQUIRE(ring.problems.size() == 1);
  CHECK(swarm::to_string(ring.problems[0]) ==
        "swarms.s0.members[0]: cycle: s0 -> s1 -> s2 -> s3 -> s4 -> ... -> s99998 -> s99999 -> s0 "
        "(line 5)");
}
