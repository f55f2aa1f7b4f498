// Scenario `cluster` (issue G): (1) messages to an agent living in another node process over a
// CAF link, plain TCP and mutual TLS, next to a bare CAF actor published in another process over
// the same kind of link, in the same run: one-way dm throughput with a bounded window, pipelined
// health_probe requests, and the round trip of one probe (p50/p99); (2) a 10,000-agent fan-out
// spread over three local nodes (the bench and two `swarm node` processes) against `swarm
// mock-llm`, wall per round and CPU per call of every process, beside the same fan-out packed on
// this node. Loopback only; every child process is killed at the end (and dies with this one).
// Figures for `swarm bench` (bench/records.hpp), scenario "remote": per link ("tcp", "tls")
// dm_msgs_per_s, rtt_us_p50 and rtt_us_p99 with bare CAF remoting as their floor; per fan-out
// (n, layout "spread" or "pack", link, latency_ms) wall_ms and cpu_us_per_call, the spread's
// floor being the pack of the same run. Usage: bench_cluster [--help].
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/agent.hpp"
#include "bench/agents_run.hpp"
#include "bench/args.hpp"
#include "bench/records.hpp"
#include "runtime/cluster_node.hpp"
#include "runtime/cluster_placement.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"
#include "runtime/runtime.hpp"
#include "runtime/scheduler_options.hpp"

namespace {

using namespace swarm::bench;
using clock_type = std::chrono::steady_clock;
using go_atom = caf::atom_constant<caf::atom("go")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

constexpr auto heartbeat = std::chrono::milliseconds(250);
constexpr auto failure_timeout = std::chrono::milliseconds(2000);

// The payload of every dm, as bench_messaging sends it: sender fits SSO, a 48-byte text.
const std::string dm_text = "status update: shard 17 finished, 4096 rows ok.";

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<size_t>(p * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(i, xs.size() - 1)];
}

// -- child processes ------------------------------------------------------------------------------

// A child process that dies with this one (PR_SET_PDEATHSIG) and is killed when destroyed; its
// stderr goes to `log`. Waits (at most 30 s) until `ready_file` holds a line, kept as `ready`.
class child_process {
public:
  child_process(std::vector<std::string> args, const std::string& log,
                const std::string& ready_file) {
    std::remove(ready_file.c_str()); // an earlier part's file would name a process gone
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    if (pid_ == 0) { // only async-signal-safe calls until exec
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int null_fd = open("/dev/null", O_WRONLY);
      int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(null_fd, 1);
      dup2(log_fd, 2);
      close_range(3, ~0U, 0); // none of this process's sockets, pipes or epoll stays open there
      execv(argv[0], argv.data());
      _exit(127);
    }
    auto deadline = clock_type::now() + std::chrono::seconds(30);
    while (ready.empty() && clock_type::now() < deadline) {
      std::ifstream in{ready_file};
      std::getline(in, ready);
      if (ready.empty())
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (ready.empty()) {
      stop();
      throw std::runtime_error(args[0] + " " + args[1] + " did not start (log: " + log + ")");
    }
  }

  ~child_process() { stop(); }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  /// User + system CPU seconds of the process so far (/proc/PID/stat).
  double cpu_seconds() const {
    std::ifstream in{"/proc/" + std::to_string(pid_) + "/stat"};
    std::string text{std::istreambuf_iterator<char>{in}, {}};
    auto close = text.rfind(')');
    if (close == std::string::npos)
      return 0;
    std::istringstream rest{text.substr(close + 2)};
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // After the command: state is field 3; utime and stime are fields 14 and 15.
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14)
        utime = std::stoull(field);
      if (i == 15)
        stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }

  std::string ready;

private:
  pid_t pid_ = -1;
};

std::string self_exe() {
  std::vector<char> buf(4096);
  auto n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string{};
}

// The certificates of one run: a cluster CA and one certificate per process name.
struct cert_dir {
  std::string dir;
  swarm::cluster_link_options link(const std::string& name) const {
    return {dir + "/" + name + ".crt", dir + "/" + name + ".key", dir + "/ca.crt", false};
  }
};

void run_or_throw(const std::string& cmd) {
  if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0)
    throw std::runtime_error("failed: " + cmd);
}

cert_dir make_certs(const std::string& swarm_bin, const std::string& dir,
                    const std::vector<std::string>& names) {
  run_or_throw(swarm_bin + " cert ca " + dir);
  for (const auto& n : names)
    run_or_throw(swarm_bin + " cert node " + dir + " " + n);
  return {dir};
}

std::vector<std::string> link_args(const swarm::cluster_link_options& link) {
  if (link.insecure)
    return {"--insecure"};
  return {"--tls-cert", link.tls_cert, "--tls-key", link.tls_key, "--tls-ca", link.tls_ca};
}

// `swarm node NAME` listening on a free loopback port, joining `join` when not empty.
std::unique_ptr<child_process> start_node(const std::string& swarm_bin, const std::string& tmp,
                                          const std::string& name,
                                          const swarm::cluster_link_options& link,
                                          const std::string& join) {
  std::vector<std::string> args{
      swarm_bin,  "node",        "--name",         name,
      "--listen", "127.0.0.1:0", "--address-file", tmp + "/" + name + ".addr"};
  for (auto& a : link_args(link))
    args.push_back(a);
  if (!join.empty()) {
    args.push_back("--join");
    args.push_back(join);
  }
  return std::make_unique<child_process>(args, tmp + "/" + name + ".log",
                                         tmp + "/" + name + ".addr");
}

// -- the bare CAF side: an echo actor published by CAF's middleman (or its OpenSSL module)
// ---------

struct echo_state {
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

// Counts dms (trivial work) and answers health probes as an agent does.
caf::behavior bare_echo(caf::stateful_actor<echo_state>* self) {
  return {
      [self](const swarm::dm& m) {
        ++self->state.messages;
        self->state.bytes += m.from.size() + m.text.size();
      },
      [self](swarm::health_probe& p) {
        return swarm::health_report{p.nonce, {"bare", "echo"}, self->state.messages, 0};
      },
  };
}

// The config every CAF process of this bench shares with `swarm node` (the runtime's scheduler
// defaults, the cluster's type-ID blocks and link settings).
void configure(caf::actor_system_config& cfg, const swarm::cluster_link_options& link) {
  swarm::register_types(cfg);
  swarm::actors::register_agent_type(cfg);
  swarm::apply_scheduler_options(cfg, swarm::runtime_options{});
  swarm::apply_cluster_config(cfg, link, heartbeat, failure_timeout);
}

// `bench_cluster --echo-server PORT_FILE [CERT KEY CA]`: publishes a bare echo actor on a free
// loopback port, writes the port, then waits to be killed.
int echo_server_main(int argc, char** argv) {
  swarm::cluster_link_options link;
  link.insecure = argc < 6;
  if (!link.insecure)
    link = {argv[3], argv[4], argv[5], false};
  caf::actor_system_config cfg;
  configure(cfg, link);
  caf::actor_system sys{cfg};
  auto echo = sys.spawn(bare_echo);
  auto port = link.insecure ? sys.middleman().publish(echo, 0, "127.0.0.1", true)
                            : caf::openssl::publish(echo, 0, "127.0.0.1", true);
  if (!port) {
    std::cerr << "echo server: " << sys.render(port.error()) << "\n";
    return 1;
  }
  {
    std::string tmp = std::string{argv[2]} + ".tmp";
    std::ofstream{tmp} << *port << "\n";
    std::rename(tmp.c_str(), argv[2]);
  }
  for (;;)
    pause();
}

// -- (1) messaging --------------------------------------------------------------------------------

struct flow_state {
  size_t units_sent = 0;
  size_t answered = 0;
  size_t in_flight = 0;
};

// Sends `units` units to `target`, each `batch` dms followed by one health_probe request (per
// link FIFO: its answer means the dms before it were handled), keeping at most `window` units
// unanswered. Tells `notify` done (or an error) at the end.
caf::behavior flow_driver(caf::stateful_actor<flow_state>* self, caf::actor target, size_t units,
                          size_t batch, size_t window, caf::actor notify) {
  auto fill = std::make_shared<std::function<void()>>();
  *fill = [=] {
    auto& st = self->state;
    while (st.in_flight < window && st.units_sent < units) {
      for (size_t i = 0; i < batch; ++i)
        self->send(target, swarm::dm{"producer-0", dm_text});
      ++st.in_flight;
      self->request(target, std::chrono::seconds(60), swarm::health_probe{st.units_sent++})
          .then(
              [=](swarm::health_report&) {
                --self->state.in_flight;
                if (++self->state.answered == units)
                  self->send(notify, done_atom::value);
                else
                  (*fill)();
              },
              [=](caf::error& err) {
                self->send(notify, std::move(err));
                self->quit();
              });
    }
  };
  return {[=](go_atom) { (*fill)(); }};
}

// Runs one flow; returns units answered per second (0 on failure or after 120 s).
double run_flow(caf::actor_system& sys, const caf::actor& target, size_t units, size_t batch,
                size_t window) {
  caf::scoped_actor self{sys};
  auto d = sys.spawn(flow_driver, target, units, batch, window, caf::actor{self});
  auto t0 = clock_type::now();
  caf::anon_send(d, go_atom::value);
  bool ok = false;
  self->receive([&](done_atom) { ok = true; },
                [&](caf::error& err) { std::cerr << "flow: " << sys.render(err) << "\n"; },
                caf::after(std::chrono::seconds(120)) >> [] { std::cerr << "flow: timeout\n"; });
  double secs = seconds_since(t0);
  caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
  return ok ? static_cast<double>(units) / secs : 0;
}

// `n` health probes one after the other; each round trip in µs.
std::vector<double> round_trips(caf::actor_system& sys, const caf::actor& target, size_t n) {
  caf::scoped_actor self{sys};
  std::vector<double> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto t0 = clock_type::now();
    bool ok = false;
    self->request(target, std::chrono::seconds(10), swarm::health_probe{i})
        .receive([&](swarm::health_report&) { ok = true; }, [&](caf::error&) {});
    if (!ok) {
      std::cerr << "round trip " << i << " failed\n";
      break;
    }
    out.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
  }
  return out;
}

struct messaging_sizes {
  size_t dms = 200'000;     // per round, one-way
  size_t batch = 100;       // dms per probe
  size_t window = 10;       // unanswered probes (so at most batch * window dms in flight)
  size_t requests = 50'000; // pipelined probes per round
  size_t req_window = 100;
  size_t pings = 2'000; // sequential round trips per round
  int rounds = 5;
};

struct path_figures {
  std::vector<double> dm_s, req_s, p50, p99;
};

struct messaging_row {
  std::string link;
  path_figures agent, bare;
};

void measure_path(caf::actor_system& sys, const caf::actor& target, const messaging_sizes& sz,
                  path_figures& out) {
  auto units = sz.dms / sz.batch;
  out.dm_s.push_back(run_flow(sys, target, units, sz.batch, sz.window) *
                     static_cast<double>(sz.batch));
  out.req_s.push_back(run_flow(sys, target, sz.requests, 0, sz.req_window));
  auto rtt = round_trips(sys, target, sz.pings);
  out.p50.push_back(percentile(rtt, 0.50));
  out.p99.push_back(percentile(rtt, 0.99));
}

// Connects to what is published at `address` through `connector`; a null actor on failure.
caf::actor connect(caf::actor_system& sys, const caf::io::middleman_actor& connector,
                   const std::string& address) {
  auto hp = swarm::parse_host_port(address);
  if (!hp)
    throw std::runtime_error("bad address " + address);
  caf::scoped_actor self{sys};
  caf::actor out;
  self->request(connector, std::chrono::seconds(10), caf::connect_atom::value, hp->first,
                hp->second)
      .receive([&](const caf::node_id&, caf::strong_actor_ptr& ptr,
                   const std::set<std::string>&) { out = caf::actor_cast<caf::actor>(ptr); },
               [&](caf::error& err) {
                 std::cerr << "connect " << address << ": " << sys.render(err) << "\n";
               });
  return out;
}

// One link kind: a `swarm node` hosting one agent (remote-spawned from here, as placement does)
// and an echo server process; rounds alternate agent and bare.
messaging_row measure_link(caf::actor_system& sys, const std::string& swarm_bin,
                           const std::string& tmp, const std::string& kind,
                           const swarm::cluster_link_options& node_link,
                           const std::vector<std::string>& echo_tls, const messaging_sizes& sz) {
  messaging_row row;
  row.link = kind;
  auto node = start_node(swarm_bin, tmp, "msg-" + kind, node_link, "");
  std::vector<std::string> echo_args{self_exe(), "--echo-server", tmp + "/echo-" + kind + ".port"};
  for (const auto& a : echo_tls)
    echo_args.push_back(a);
  child_process echo{echo_args, tmp + "/echo-" + kind + ".log", tmp + "/echo-" + kind + ".port"};

  bool tls = !node_link.insecure;
  caf::io::middleman_actor connector =
      tls ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
  auto node_actor = connect(sys, connector, node->ready);
  auto bare = connect(sys, connector, "127.0.0.1:" + echo.ready);
  if (!node_actor || !bare)
    throw std::runtime_error("cannot connect over " + kind);

  swarm::actors::agent_config cfg;
  cfg.id = {"bench", "agent-0"};
  cfg.system_prompt = "You are agent-0, a worker of the benchmark swarm. Answer in one short line.";
  cfg.model = "mock-model";
  cfg.endpoint.url = "http://127.0.0.1:9/v1"; // no LLM call is made
  auto agent =
      swarm::spawn_agent_on(sys, node_actor, "msg-" + kind, cfg, {}, {}, std::chrono::seconds(10));
  if (!agent)
    throw std::runtime_error(swarm::describe(agent.error()));
  auto agent_handle = caf::actor_cast<caf::actor>(*agent);

  // Warm-up: connections, allocators, the agent's first activation.
  messaging_sizes warm = sz;
  warm.dms = sz.dms / 10;
  warm.requests = sz.requests / 10;
  warm.pings = 200;
  path_figures ignored;
  measure_path(sys, agent_handle, warm, ignored);
  measure_path(sys, bare, warm, ignored);
  for (int r = 0; r < sz.rounds; ++r) {
    if (r % 2 == 0) {
      measure_path(sys, agent_handle, sz, row.agent);
      measure_path(sys, bare, sz, row.bare);
    } else {
      measure_path(sys, bare, sz, row.bare);
      measure_path(sys, agent_handle, sz, row.agent);
    }
  }
  caf::anon_send_exit(agent_handle, caf::exit_reason::user_shutdown);
  return row;
}

void print_messaging_header(const messaging_sizes& sz) {
  std::printf("## (1) messages to one actor in another process, median of %d rounds\n\n"
              "dm: %zu one-way dms a round, a probe after each %zu, at most %zu probes "
              "unanswered; requests: %zu health_probe requests, %zu in flight; round trip: %zu "
              "probes one after the other\n\n",
              sz.rounds, sz.dms, sz.batch, sz.window, sz.requests, sz.req_window, sz.pings);
  std::printf("| link | target | dm msg/s | requests/s | RTT p50 µs | RTT p99 µs |\n"
              "|---|---|---|---|---|---|\n");
  std::fflush(stdout);
}

// "a,b,c" -> {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss{text};
  for (std::string x; std::getline(ss, x, ',');)
    out.push_back(x);
  return out;
}

// The link's name in the records: "tcp" (plain) or "tls".
std::string link_name(const std::string& kind) {
  return kind == "plain" ? "tcp" : kind;
}

void record_messaging(const messaging_row& r) {
  std::vector<param> params{{"link", link_name(r.link)}};
  auto one = [&](const char* metric, const char* unit, better direction,
                 const std::vector<double> path_figures::*figures) {
    record({"remote",
            params,
            metric,
            unit,
            direction,
            median(r.agent.*figures),
            {{"bare CAF remoting", median(r.bare.*figures)}}});
  };
  one("dm_msgs_per_s", "msg/s", better::higher, &path_figures::dm_s);
  one("rtt_us_p50", "us", better::lower, &path_figures::p50);
  one("rtt_us_p99", "us", better::lower, &path_figures::p99);
}

void print_messaging(const messaging_row& r) {
  for (auto [name, f] : {std::pair{"agent (swarm node)", &r.agent}, {"bare CAF echo", &r.bare}})
    std::printf("| %s | %s | %.0f | %.0f | %.1f | %.1f |\n", r.link.c_str(), name, median(f->dm_s),
                median(f->req_s), median(f->p50), median(f->p99));
  std::printf("| %s | agent / bare | %.2f | %.2f | %.2f | %.2f |\n", r.link.c_str(),
              median(r.agent.dm_s) / median(r.bare.dm_s),
              median(r.agent.req_s) / median(r.bare.req_s),
              median(r.agent.p50) / median(r.bare.p50), median(r.agent.p99) / median(r.bare.p99));
  std::fflush(stdout);
}

// -- (2) fan-out ----------------------------------------------------------------------------------

struct fanout_row {
  int latency_ms = 0;
  double spawn_s = 0;                            // spawning the swarm (remote spawns included)
  double wall_ms = 0;                            // median wall per round
  double cpu_us = 0, owner_us = 0, nodes_us = 0; // per call: all, this process, the two nodes
  size_t failed = 0;
};

struct fanout_result {
  fanout_row spread, pack;
  std::vector<uint64_t> hosted; // agents per member after the spread spawn
};

fanout_result measure_fanout(const std::string& swarm_bin, const std::string& tmp,
                             const std::string& kind, const cert_dir* certs, size_t n,
                             int latency_ms, int rounds) {
  auto link_of = [&](const std::string& name) {
    if (!certs) {
      swarm::cluster_link_options l;
      l.insecure = true;
      return l;
    }
    return certs->link(name);
  };
  // The mock as a child_process (not bench/mock_process.hpp): it dies with this process too.
  auto mock_dir = tmp + "/mock-" + kind + "-" + std::to_string(latency_ms);
  std::system(("mkdir -p " + mock_dir).c_str());
  std::ofstream{mock_dir + "/script.yaml"} << "latency: {fixed_ms: " << latency_ms
                                           << "}\ndefault: {reply: 'ok from {{system}}'}\n";
  std::vector<std::string> mock_args{
      swarm_bin,     "mock-llm",         "--port",   "0",
      "--port-file", mock_dir + "/port", "--script", mock_dir + "/script.yaml"};
  // Under `swarm bench` the mock runs on the cores it keeps for mocks, apart from ours.
  if (const char* cpus = std::getenv("SWARM_BENCH_MOCK_CPUS");
      cpus != nullptr && *cpus != '\0' && access("/usr/bin/taskset", X_OK) == 0)
    mock_args.insert(mock_args.begin(), {"/usr/bin/taskset", "-c", cpus});
  child_process mock{mock_args, mock_dir + "/log", mock_dir + "/port"};
  auto mock_url = "http://127.0.0.1:" + mock.ready + "/v1";
  auto n1 = start_node(swarm_bin, tmp, "n1", link_of("n1"), "");
  auto n2 = start_node(swarm_bin, tmp, "n2", link_of("n2"), n1->ready);

  swarm::runtime_options opts;
  opts.scheduler_threads = 2;
  opts.cluster.listen = "127.0.0.1:0";
  opts.cluster.name = "owner";
  opts.cluster.join = {n1->ready};
  opts.cluster.link = link_of("owner");
  swarm::runtime rt{opts, {mock_url, "mock"}};
  auto deadline = clock_type::now() + std::chrono::seconds(30);
  auto all_up = [&] {
    auto ms = rt.cluster_members();
    return ms.size() == 3 && std::all_of(ms.begin(), ms.end(), [](const swarm::node_info& m) {
             return m.state == swarm::node_state::up;
           });
  };
  while (!all_up() && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!all_up())
    throw std::runtime_error("the three nodes did not come up over " + kind);

  fanout_result out;
  auto spawn = [&](const std::string& placement, fanout_row& row) {
    auto spec = agents_spec("fanout-" + placement, n);
    spec.root.placement = placement;
    row.latency_ms = latency_ms;
    auto t0 = clock_type::now();
    auto team = rt.spawn(spec);
    row.spawn_s = seconds_since(t0);
    if (!team)
      throw std::runtime_error(swarm::describe(team.error()));
    return std::move(*team);
  };
  auto spread = spawn("spread", out.spread);
  auto pack = spawn("pack", out.pack);
  // The members' heartbeats carry their hosted agents: wait (bounded) until they show the spread.
  auto hosted_deadline = clock_type::now() + std::chrono::seconds(10);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    out.hosted.clear();
    for (const auto& m : rt.cluster_members())
      out.hosted.push_back(m.agents);
  } while (out.hosted.size() == 3 && out.hosted[1] + out.hosted[2] < n / 2 &&
           clock_type::now() < hosted_deadline);

  (void)spread.run({task_text}); // warm-up: connections, allocators, agents' first activation
  (void)pack.run({task_text});
  std::vector<double> spread_walls, pack_walls;
  double spread_owner = 0, spread_nodes = 0, pack_owner = 0, pack_nodes = 0;
  auto one = [&](swarm::swarm_handle& team, std::vector<double>& walls, double& owner,
                 double& nodes, fanout_row& row) {
    auto o0 = cpu_seconds();
    auto c0 = n1->cpu_seconds() + n2->cpu_seconds();
    auto t0 = clock_type::now();
    auto res = team.run({task_text});
    walls.push_back(seconds_since(t0) * 1e3);
    owner += cpu_seconds() - o0;
    nodes += n1->cpu_seconds() + n2->cpu_seconds() - c0;
    row.failed += failures(res, n);
  };
  for (int r = 0; r < rounds; ++r) { // alternate, so both see the same machine
    if (r % 2 == 0) {
      one(spread, spread_walls, spread_owner, spread_nodes, out.spread);
      one(pack, pack_walls, pack_owner, pack_nodes, out.pack);
    } else {
      one(pack, pack_walls, pack_owner, pack_nodes, out.pack);
      one(spread, spread_walls, spread_owner, spread_nodes, out.spread);
    }
  }
  auto calls = static_cast<double>(n) * rounds;
  auto finish = [&](fanout_row& row, const std::vector<double>& walls, double owner, double nodes) {
    row.wall_ms = median(walls);
    row.owner_us = owner * 1e6 / calls;
    row.nodes_us = nodes * 1e6 / calls;
    row.cpu_us = row.owner_us + row.nodes_us;
  };
  finish(out.spread, spread_walls, spread_owner, spread_nodes);
  finish(out.pack, pack_walls, pack_owner, pack_nodes);
  spread.stop();
  pack.stop();
  return out;
}

void record_fanout(const std::string& kind, size_t agents, const fanout_result& res) {
  for (auto [layout, row] : {std::pair{"spread", &res.spread}, {"pack", &res.pack}}) {
    std::vector<param> params{{"n", agents},
                              {"layout", layout},
                              {"link", link_name(kind)},
                              {"latency_ms", row->latency_ms}};
    // The spread's floor is the same fan-out packed on one node, measured alternately with it.
    bool spread = row == &res.spread;
    std::vector<std::pair<std::string, double>> wall_floor, cpu_floor;
    if (spread) {
      wall_floor = {{"pack (one node)", res.pack.wall_ms}};
      cpu_floor = {{"pack (one node)", res.pack.cpu_us}};
    }
    record({"remote", params, "wall_ms", "ms", better::lower, row->wall_ms, wall_floor});
    record({"remote", params, "cpu_us_per_call", "us", better::lower, row->cpu_us, cpu_floor});
  }
}

void print_fanout(const std::string& kind, size_t agents, const fanout_result& res) {
  // The owner's own count is every agent of its swarms: its share is what the others lack.
  std::string hosted = "?";
  if (res.hosted.size() == 3)
    hosted = std::to_string(agents - res.hosted[1] - res.hosted[2]) + ", " +
             std::to_string(res.hosted[1]) + ", " + std::to_string(res.hosted[2]);
  for (auto [name, row] :
       {std::pair{"spread (3 nodes)", &res.spread}, {"pack (1 node)", &res.pack}})
    std::printf("| %s | %d ms | %s | %s | %.2f | %.1f | %.1f | %.1f | %.1f | %zu |\n", kind.c_str(),
                row->latency_ms, name, row == &res.spread ? hosted.c_str() : "-", row->spawn_s,
                row->wall_ms, row->cpu_us, row->owner_us, row->nodes_us, row->failed);
  std::printf("| %s | %d ms | spread / pack | | | %.2f | %.2f | | | |\n", kind.c_str(),
              res.spread.latency_ms, res.spread.wall_ms / res.pack.wall_ms,
              res.spread.cpu_us / res.pack.cpu_us);
  std::fflush(stdout);
}

// Runs `part` in a child process, so that each part has its process's only actor system and
// heap (nothing one part leaves behind weighs on the next); the child is killed after 15
// minutes. Returns 0 when the part succeeded.
template <class Part>
int in_child_process(Part part) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int rc = 0;
    try {
      part();
    } catch (const std::exception& e) {
      std::cerr << "bench_cluster: " << e.what() << "\n";
      rc = 1;
    }
    std::fflush(stdout);
    _exit(rc); // skips the parent's destructors and atexit handlers
  }
  auto deadline = clock_type::now() + std::chrono::minutes(15);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (clock_type::now() > deadline) {
      std::cerr << "bench_cluster: a part took more than 15 minutes: killed\n";
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string{argv[1]} == "--echo-server")
    return echo_server_main(argc, argv);
  std::string swarm_bin = SWARM_BINARY;
  messaging_sizes sz;
  size_t agents = 10'000;
  int fanout_rounds = 5;
  std::vector<size_t> latencies{0, 20};
  std::vector<std::string> fanout_links{"plain", "tls"};
  std::vector<std::string> links{"plain", "tls"}; // of the messaging part
  bool messaging = true, fanout = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string{argv[++i]}; };
    if (a == "--swarm" && i + 1 < argc)
      swarm_bin = next();
    else if (a == "--rounds" && i + 1 < argc)
      sz.rounds = std::stoi(next());
    else if (a == "--dms" && i + 1 < argc)
      sz.dms = std::stoul(next());
    else if (a == "--batch" && i + 1 < argc)
      sz.batch = std::stoul(next());
    else if (a == "--window" && i + 1 < argc)
      sz.window = std::stoul(next());
    else if (a == "--requests" && i + 1 < argc)
      sz.requests = std::stoul(next());
    else if (a == "--pings" && i + 1 < argc)
      sz.pings = std::stoul(next());
    else if (a == "--agents" && i + 1 < argc)
      agents = std::stoul(next());
    else if (a == "--fanout-rounds" && i + 1 < argc)
      fanout_rounds = std::stoi(next());
    else if (a == "--latencies" && i + 1 < argc)
      latencies = parse_sizes(next());
    else if (a == "--fanout-links" && i + 1 < argc)
      fanout_links = split_list(next());
    else if (a == "--links" && i + 1 < argc)
      links = split_list(next());
    else if (a == "--only" && i + 1 < argc) {
      auto parts = split_list(next());
      auto has = [&](const char* p) {
        return std::find(parts.begin(), parts.end(), p) != parts.end();
      };
      messaging = has("messaging");
      fanout = has("fanout");
      if (parts.size() != size_t{messaging} + size_t{fanout}) {
        std::cerr << "bench_cluster: --only takes messaging and/or fanout\n";
        return 2;
      }
    } else if (a == "--no-messaging")
      messaging = false;
    else if (a == "--no-fanout")
      fanout = false;
    else {
      std::cerr << "usage: bench_cluster [--rounds 5] [--dms 200000] [--batch 100] [--window 10] "
                   "[--requests 50000] [--pings 2000] [--agents 10000] [--fanout-rounds 5] "
                   "[--latencies 0,20] [--fanout-links plain,tls] [--links plain,tls] "
                   "[--only messaging,fanout] [--no-messaging] [--no-fanout] [--swarm PATH]\n";
      return a == "--help" ? 0 : 2;
    }
  }
  sz.batch = std::max<size_t>(1, sz.batch);
  for (auto* list : {&links, &fanout_links})
    for (auto& kind : *list) {
      if (kind == "tcp")
        kind = "plain";
      if (kind != "plain" && kind != "tls") {
        std::cerr << "bench_cluster: a link is tcp (or plain) or tls, not " << kind << "\n";
        return 2;
      }
    }
  raise_fd_limit();
  std::string tmp = "/tmp/swarm-bench-cluster-" + std::to_string(getpid());
  std::system(("rm -rf " + tmp + " && mkdir -p " + tmp).c_str());
  int rc = 0;
  try {
    auto certs =
        make_certs(swarm_bin, tmp + "/certs", {"msg-tls", "echo", "bench", "n1", "n2", "owner"});
    if (messaging) {
      print_messaging_header(sz);
      for (const auto& kind : links)
        rc |= in_child_process([&] {
          caf::actor_system_config cfg;
          auto bench_link = certs.link("bench");
          if (auto err = swarm::check_link_options(bench_link, {"127.0.0.1"}))
            throw std::runtime_error(swarm::describe(err));
          configure(cfg, bench_link); // OpenSSL's module for TLS links, the middleman for plain
          caf::actor_system sys{cfg};
          swarm::cluster_link_options plain;
          plain.insecure = true;
          auto echo_tls = certs.link("echo");
          auto row = kind == "plain"
                         ? measure_link(sys, swarm_bin, tmp, kind, plain, {}, sz)
                         : measure_link(sys, swarm_bin, tmp, kind, certs.link("msg-tls"),
                                        {echo_tls.tls_cert, echo_tls.tls_key, echo_tls.tls_ca}, sz);
          print_messaging(row);
          record_messaging(row);
        });
      std::printf("\n");
    }
    if (fanout) {
      std::printf("## (2) fan-out, %zu agents, one chat completion each, median of %d rounds\n\n"
                  "| link | mock latency | placement | agents per node (owner, n1, n2) | spawn s | "
                  "wall/round ms | CPU/call µs (all) | owner | nodes | failed |\n"
                  "|---|---|---|---|---|---|---|---|---|---|\n",
                  agents, fanout_rounds);
      std::fflush(stdout);
      for (const auto& kind : fanout_links)
        for (auto latency : latencies)
          rc |= in_child_process([&] {
            auto res = measure_fanout(swarm_bin, tmp, kind, kind == "tls" ? &certs : nullptr,
                                      agents, static_cast<int>(latency), fanout_rounds);
            print_fanout(kind, agents, res);
            record_fanout(kind, agents, res);
          });
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_cluster: " << e.what() << "\n";
    rc = 1;
  }
  if (rc == 0)
    std::system(("rm -rf " + tmp).c_str());
  else
    std::cerr << "bench_cluster: logs kept in " << tmp << "\n";
  return rc;
}
