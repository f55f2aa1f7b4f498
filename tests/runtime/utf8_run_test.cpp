// Invalid UTF-8 entering a run (issue J 2): a tool's output, the task, the spec, the LLM's reply
// and the user's messages are repaired where they enter (U+FFFD per invalid sequence), the run
// completes, and an input_repaired event names where and counts them (before, every such
// request got a 400); a memory import line is refused instead.
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "memory/record_line.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/utf8.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/mock_runtime.hpp"

using namespace swarm;
using namespace std::chrono_literals;

namespace {

const std::string fffd{utf8_replacement};

// Every event of a runtime until a run finishes (bounded wait).
class run_events {
public:
  void add(const event& e) {
    std::lock_guard<std::mutex> guard{mtx_};
    events_.push_back(e);
    if (e.kind == event_kind::run_finished)
      cv_.notify_all();
  }

  /// The input_repaired events, once a run_finished was seen (at most 10 s).
  std::vector<event> repairs() {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait_for(lock, 10s, [&] {
      for (const auto& e : events_)
        if (e.kind == event_kind::run_finished)
          return true;
      return false;
    });
    std::vector<event> out;
    for (const auto& e : events_) {
      CHECK(is_valid_utf8(e.text));
      if (e.kind == event_kind::input_repaired)
        out.push_back(e);
    }
    return out;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<event> events_;
};

// A loopback HTTP server answering each request (at most 8, one per connection) with 200 and
// `body`: a reply the mock would never send.
class raw_llm {
public:
  explicit raw_llm(std::string body) : body_(std::move(body)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~raw_llm() {
    ::shutdown(fd_, SHUT_RDWR); // wakes accept
    thread_.join();
    ::close(fd_);
  }
  raw_llm(const raw_llm&) = delete;
  raw_llm& operator=(const raw_llm&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int requests() const { return requests_; }

private:
  void serve() {
    for (int n = 0; n < 8; ++n) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0)
        return;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      if (read_request(c)) {
        ++requests_;
        std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n" + body_;
        for (size_t sent = 0; sent < out.size();) {
          auto k = ::send(c, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
          if (k <= 0)
            break;
          sent += static_cast<size_t>(k);
        }
      }
      ::close(c);
    }
  }

  // Reads the headers and a Content-Length body.
  static bool read_request(int c) {
    std::string in;
    char buf[4096];
    for (int reads = 0; reads < 1000; ++reads) {
      auto end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto at = in.find("Content-Length: ");
        if (at == std::string::npos)
          at = in.find("content-length: ");
        size_t body = at == std::string::npos ? 0 : std::stoul(in.substr(at + 16));
        if (in.size() >= end + 4 + body)
          return true;
      }
      auto k = ::recv(c, buf, sizeof buf, 0);
      if (k <= 0)
        return false;
      in.append(buf, static_cast<size_t>(k));
    }
    return false;
  }

  std::string body_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

const char* tool_script = R"(
rules:
  - match: {history: "tool: ok \uFFFD\uFFFD done"}
    reply: 'clean tool output'
  - match: {history: "tool: error: tool_failed[\\s\\S]*stdout:\nbad \uFFFD"}
    reply: 'clean tool error'
  - match: {user: 'fail'}
    tool_calls: [{name: shell, arguments: {command: "printf 'bad \\377'; exit 3"}}]
default:
  tool_calls: [{name: shell, arguments: {command: "printf 'ok \\377\\376 done'"}}]
)";

const char* crew_tools_spec = "name: crew\ntools:\n  - {name: shell}\nagents:\n  - name: coder\n"
                              "    tools: [shell]\n";

} // namespace

TEST_CASE("utf8: a tool printing invalid UTF-8 in a real run: repaired, told, the run completes") {
  test::mock_runtime f{tool_script};
  runtime rt{f.options(), f.overrides()};
  run_events seen;
  auto watching = rt.on_event([&](const event& e) { seen.add(e); });
  auto team = f.spawn(rt, crew_tools_spec);
  REQUIRE(team);
  auto r = team->run({"say it", "run-tool"});
  REQUIRE(r); // before: the tool's bytes went raw into the request and the mock answered 400
  CHECK(r->text == "## coder\nclean tool output"); // the mock saw U+FFFD in valid JSON
  CHECK(f.mock->stats().status_counts[400] == 0);
  auto repairs = seen.repairs();
  REQUIRE(repairs.size() == 1);
  CHECK(repairs[0].name == "tool shell");
  CHECK(repairs[0].total == 2);
  CHECK(repairs[0].agent.str() == "crew/coder");
  CHECK(repairs[0].run_id == "run-tool");
}

TEST_CASE("utf8: a failing tool whose error output has invalid UTF-8 is repaired too") {
  test::mock_runtime f{tool_script};
  runtime rt{f.options(), f.overrides()};
  run_events seen;
  auto watching = rt.on_event([&](const event& e) { seen.add(e); });
  auto team = f.spawn(rt, crew_tools_spec);
  REQUIRE(team);
  auto r = team->run({"fail"});
  INFO((r ? std::string{} : describe(r.error())));
  REQUIRE(r);
  CHECK(r->text == "## coder\nclean tool error");
  auto repairs = seen.repairs();
  REQUIRE(repairs.size() == 1);
  CHECK(repairs[0].name == "tool shell");
  CHECK(repairs[0].total == 1);
}

TEST_CASE("utf8: a task with invalid UTF-8 is repaired at the run's entry") {
  test::mock_runtime f{"default:\n  reply: 'task was: {{user}}'\n"};
  runtime rt{f.options(), f.overrides()};
  run_events seen;
  auto watching = rt.on_event([&](const event& e) { seen.add(e); });
  auto team = f.spawn(rt, "name: crew\nagents:\n  - name: coder\n");
  REQUIRE(team);
  auto r = team->run({"say \xff\xc0 hi", "run-task"});
  REQUIRE(r);
  CHECK(r->text == "## coder\ntask was: say " + fffd + fffd + " hi");
  auto repairs = seen.repairs();
  REQUIRE(repairs.size() == 1);
  CHECK(repairs[0].name == "task");
  CHECK(repairs[0].total == 2);
  CHECK(repairs[0].agent.str() == "crew");
  CHECK_FALSE(repairs[0].leaf);
  CHECK(repairs[0].run_id == "run-task");
}

TEST_CASE("utf8: a spec whose system prompt has invalid UTF-8 loads repaired; each run tells it") {
  auto spec = load_spec_text("name: crew\nagents:\n  - name: coder\n"
                             "    system_prompt: \"You are \xed\xa0\x80 coder.\"\n");
  REQUIRE(spec);
  CHECK(spec->repaired == 3); // ED A0 80 (a surrogate): three maximal subparts
  CHECK(spec->agents[0].system_prompt == "You are " + fffd + fffd + fffd + " coder.");
  CHECK(is_valid_utf8(spec->text));
  test::mock_runtime f{"rules:\n  - match: {system: \"You are \\uFFFD\\uFFFD\\uFFFD coder\"}\n"
                       "    reply: 'prompt arrived'\n"};
  runtime rt{f.options(), f.overrides()};
  run_events seen;
  auto watching = rt.on_event([&](const event& e) { seen.add(e); });
  auto team = rt.spawn(*spec);
  REQUIRE(team);
  auto r = team->run({"hello", "run-spec"});
  REQUIRE(r);
  CHECK(r->text == "## coder\nprompt arrived");
  auto repairs = seen.repairs();
  REQUIRE(repairs.size() == 1);
  CHECK(repairs[0].name == "spec");
  CHECK(repairs[0].total == 3);
  CHECK(repairs[0].run_id == "run-spec");
}

TEST_CASE("utf8: an LLM reply whose content has invalid UTF-8 is repaired by the client") {
  raw_llm server{R"({"id":"x","object":"chat.completion","model":"raw","choices":[{"index":0,)"
                 R"("finish_reason":"stop","message":{"role":"assistant","content":"ok )"
                 "\xff\xfe"
                 R"( done"}}],"usage":{"prompt_tokens":5,"completion_tokens":3}})"};
  runtime_options opts;
  opts.scheduler_threads = 2;
  opts.llm.backoff_base = 1ms;
  opts.llm.backoff_max = 5ms;
  runtime rt{opts, {server.url(), "raw"}};
  run_events seen;
  auto watching = rt.on_event([&](const event& e) { seen.add(e); });
  auto team = rt.spawn(*load_spec_text("name: crew\nagents:\n  - name: coder\n"));
  REQUIRE(team);
  auto r = team->run({"hello"});
  REQUIRE(r); // before: the body was not JSON to Boost.JSON, the call failed
  CHECK(r->text == "## coder\nok " + fffd + fffd + " done");
  CHECK(server.requests() == 1);
  auto repairs = seen.repairs();
  REQUIRE(repairs.size() == 1);
  CHECK(repairs[0].name == "llm reply");
  CHECK(repairs[0].total == 2);
  CHECK(repairs[0].agent.str() == "crew/coder");
  CHECK(repairs[0].leaf);
}

TEST_CASE("utf8: a dm and a broadcast with invalid UTF-8 are repaired as they enter the swarm") {
  test::mock_runtime f{"rules:\n  - match: {history: \"note \\uFFFD[\\\\s\\\\S]*all \\uFFFD\"}\n"
                       "    reply: 'both arrived'\n"};
  runtime rt{f.options(), f.overrides()};
  run_events seen;
  auto watching = rt.on_event([&](const event& e) { seen.add(e); });
  auto team = f.spawn(rt, "name: crew\nagents:\n  - name: coder\n");
  REQUIRE(team);
  REQUIRE_FALSE(team->dm("coder", "note \xff"));
  team->broadcast("all \xc3");
  auto r = team->run({"go", "run-msg"});
  REQUIRE(r); // before: the bytes sat in the agent's memory and the request got a 400
  CHECK(r->text == "## coder\nboth arrived");
  auto repairs = seen.repairs();
  REQUIRE(repairs.size() == 2);
  CHECK(repairs[0].name == "dm coder");
  CHECK(repairs[0].run_id.empty()); // outside any run
  CHECK(repairs[1].name == "broadcast");
  CHECK(repairs[1].total == 1);
}

TEST_CASE("utf8: a memory import line that is not valid UTF-8 is refused by name, not altered") {
  auto bad = memory::parse_record_line("{\"id\":\"m1\",\"ns\":\"agent:a\",\"text\":\"x \xff\"}", 1);
  CHECK(bad.error == "not valid UTF-8 (byte 37); an export never writes such a line");
  auto good = memory::parse_record_line(
      "{\"id\":\"m1\",\"ns\":\"agent:a\",\"text\":\"x \xef\xbf\xbd\"}", 1);
  CHECK(good.error.empty());
  CHECK(good.rec.text == "x " + fffd);
}
