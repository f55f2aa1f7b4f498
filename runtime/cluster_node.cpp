// The cluster node actor: links, membership, heartbeats, failure detection, reconnects, leave.
#include "runtime/cluster_node.hpp"

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include "net/cluster_tls.hpp"
#include "net/tls_error_queue.hpp"
#include "runtime/core/errc.hpp"
#include "runtime/core/types.hpp"

namespace swarm {

namespace {

using start_atom = caf::atom_constant<caf::atom("cstart")>;
using tick_atom = caf::atom_constant<caf::atom("ctick")>;
using drain_atom = caf::atom_constant<caf::atom("cdrain")>;
using leave_atom = caf::atom_constant<caf::atom("cleave")>;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using steady = std::chrono::steady_clock;

// One other node as this one knows it.
struct peer {
  node_info info;
  caf::actor handle;             // null while no link is up
  steady::time_point last_heard; // of its last heartbeat or hello
};

struct node_data {
  cluster_options opts;
  node_info self;
  caf::io::middleman_actor connector; // CAF's middleman, or its OpenSSL module's
  node_host host;
  std::map<std::string, peer> peers; // by name
  std::vector<std::string> seeds;    // "host:port"
  std::set<std::string> dialing;     // addresses with a link attempt under way
  std::set<std::string> learnt;      // members' addresses from welcomes, dialled until linked
  std::map<std::string, std::string> answered_at; // address dialled -> the name that answered
  steady::time_point next_reconnect;
  static inline const char* name = "swarm_cluster_node";
};

using node_actor = caf::stateful_actor<node_data>;

// A seed may be written otherwise than the address its node gives ("localhost:4241"): the name
// that answered at an address is kept, so that a linked node is not dialled again under it.
bool linked_to(const node_data& st, const std::string& address) {
  auto alias = st.answered_at.find(address);
  return std::any_of(st.peers.begin(), st.peers.end(), [&](const auto& p) {
    bool same = p.second.info.address == address ||
                (alias != st.answered_at.end() && alias->second == p.first);
    return same && p.second.handle;
  });
}

// Adds or refreshes the member `info` reached through `handle`. A hello of an older incarnation
// than the one known is stale and changes nothing.
void admit(node_actor* self, const node_info& info, const caf::actor& handle) {
  auto& st = self->state;
  if (info.name == st.self.name)
    return;
  auto& p = st.peers[info.name];
  if (p.info.name == info.name && info.incarnation < p.info.incarnation)
    return;
  if (p.handle && p.handle != handle)
    self->demonitor(p.handle);
  p.info = info;
  p.info.state = info.state == node_state::draining ? node_state::draining : node_state::up;
  p.info.last_heard_ms = unix_ms();
  p.last_heard = steady::now();
  if (handle && p.handle != handle) {
    p.handle = handle;
    self->monitor(handle);
  }
}

std::vector<node_info> known_members(const node_data& st) {
  std::vector<node_info> out;
  for (const auto& [name, p] : st.peers)
    out.push_back(p.info);
  return out;
}

// Links to the node listening at `address`: connect, then hello; the welcome names every member
// it knows, and those this node has no link to are dialled in turn.
void dial(node_actor* self, const std::string& address) {
  auto& st = self->state;
  if (address == st.self.address || st.dialing.count(address) > 0 || linked_to(st, address))
    return;
  auto hp = parse_host_port(address);
  if (!hp)
    return;
  st.dialing.insert(address);
  auto timeout = std::max(st.opts.failure_timeout, std::chrono::milliseconds(1000));
  self->request(st.connector, timeout, caf::connect_atom::value, hp->first, hp->second)
      .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
            auto target = caf::actor_cast<caf::actor>(ptr);
            if (!target) {
              self->state.dialing.erase(address);
              return;
            }
            auto mine = self->state.self;
            self->request(target, timeout, node_hello{mine, caf::actor_cast<caf::actor>(self)})
                .then(
                    [=](node_welcome& w) {
                      self->state.dialing.erase(address);
                      self->state.answered_at[address] = w.self.name;
                      admit(self, w.self, target);
                      for (const auto& m : w.members)
                        if (m.state != node_state::left && m.name != self->state.self.name) {
                          self->state.learnt.insert(m.address);
                          dial(self, m.address);
                        }
                    },
                    [=](caf::error&) { self->state.dialing.erase(address); });
          },
          [=](caf::error&) { self->state.dialing.erase(address); });
}

void tick(node_actor* self) {
  auto& st = self->state;
  auto now = steady::now();
  if (st.host.load) {
    auto l = st.host.load();
    st.self.agents = l.agents;
    st.self.in_flight = l.in_flight;
  }
  st.self.last_heard_ms = unix_ms();
  node_heartbeat hb{st.self.name, st.self.incarnation, st.self.state, st.self.agents,
                    st.self.in_flight};
  for (auto& [name, p] : st.peers) {
    if (p.info.state == node_state::left || !p.handle)
      continue;
    self->send(p.handle, hb);
    bool silent = now - p.last_heard > st.opts.failure_timeout;
    if (silent && (p.info.state == node_state::up || p.info.state == node_state::draining))
      p.info.state = node_state::unreachable;
  }
  if (st.self.state == node_state::up && now >= st.next_reconnect) {
    st.next_reconnect = now + st.opts.reconnect_interval;
    for (const auto& seed : st.seeds)
      dial(self, seed);
    for (const auto& [name, p] : st.peers)
      if (p.info.state == node_state::down)
        dial(self, p.info.address);
    // Members learnt from a welcome are dialled until linked: a first dial may fail.
    for (auto i = st.learnt.begin(); i != st.learnt.end();) {
      auto gone = std::any_of(st.peers.begin(), st.peers.end(), [&](const auto& p) {
        return p.second.info.address == *i && p.second.info.state == node_state::left;
      });
      if (gone || linked_to(st, *i)) {
        i = st.learnt.erase(i);
      } else {
        dial(self, *i);
        ++i;
      }
    }
  }
  self->delayed_send(self, st.opts.heartbeat_interval, tick_atom::value);
}

caf::behavior node_behavior(node_actor* self, cluster_options opts, uint64_t incarnation,
                            caf::io::middleman_actor connector, node_host host) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.self.incarnation = incarnation;
  st.connector = std::move(connector);
  st.host = std::move(host);
  st.seeds = st.opts.join;
  st.next_reconnect = steady::now();
  self->set_down_handler([=](const caf::down_msg& dm) {
    for (auto& [name, p] : self->state.peers)
      if (p.handle && p.handle.address() == dm.source) {
        p.handle = nullptr;
        if (p.info.state != node_state::left)
          p.info.state = node_state::down;
      }
  });
  return {
      // Listens on the configured address, then heartbeats and dials the seeds: the address it
      // listens on (its port chosen by the system for port 0) names it.
      [=](start_atom) -> caf::result<uint16_t> {
        auto rp = self->make_response_promise<uint16_t>();
        auto hp = parse_host_port(self->state.opts.listen);
        self->request(self->state.connector, caf::infinite, caf::publish_atom::value, hp->second,
                      caf::actor_cast<caf::strong_actor_ptr>(self), std::set<std::string>{},
                      hp->first, true)
            .then(
                [=](uint16_t port) mutable {
                  auto& s = self->state;
                  s.self.address = hp->first.find(':') != std::string::npos
                                       ? "[" + hp->first + "]:" + std::to_string(port)
                                       : hp->first + ":" + std::to_string(port);
                  s.self.name = s.opts.name.empty() ? s.self.address : s.opts.name;
                  tick(self);
                  rp.deliver(port);
                },
                [=](caf::error& err) mutable {
                  rp.deliver(std::move(err));
                  self->quit();
                });
        return rp;
      },
      [=](tick_atom) { tick(self); },
      [=](node_hello& h) -> node_welcome {
        auto members = known_members(self->state);
        admit(self, h.self, h.node);
        return {self->state.self, std::move(members)};
      },
      [=](const node_heartbeat& hb) {
        auto i = self->state.peers.find(hb.name);
        if (i == self->state.peers.end() || i->second.info.incarnation != hb.incarnation ||
            i->second.info.state == node_state::left)
          return;
        auto& p = i->second;
        p.last_heard = steady::now();
        p.info.last_heard_ms = unix_ms();
        p.info.agents = hb.agents;
        p.info.in_flight = hb.in_flight;
        if (p.handle)
          p.info.state = hb.state == node_state::draining ? node_state::draining : node_state::up;
      },
      [=](const node_leave& lv) {
        auto i = self->state.peers.find(lv.name);
        if (i == self->state.peers.end() || i->second.info.incarnation != lv.incarnation)
          return;
        i->second.info.state = node_state::left;
        if (i->second.handle)
          self->demonitor(i->second.handle);
        i->second.handle = nullptr;
      },
      [=](cluster_status_request) {
        auto& s = self->state;
        s.self.last_heard_ms = unix_ms();
        std::vector<node_info> out{s.self};
        auto rest = known_members(s);
        out.insert(out.end(), rest.begin(), rest.end());
        return out;
      },
      [=](placement_request) {
        auto& s = self->state;
        placement_view out;
        if (s.self.state == node_state::up) {
          out.members.push_back(s.self);
          out.nodes.push_back(caf::actor_cast<caf::actor>(self));
        }
        for (const auto& [name, p] : s.peers)
          if (p.info.state == node_state::up && p.handle) {
            out.members.push_back(p.info);
            out.nodes.push_back(p.handle);
          }
        return out;
      },
      // A run submitted from another process goes to a worker of its own, which answers it.
      [=](run_submission& sub) {
        auto rp = self->make_response_promise();
        auto& s = self->state;
        auto worker = s.self.state == node_state::up && s.host.run_worker ? s.host.run_worker()
                                                                          : caf::actor{};
        if (worker)
          rp.delegate(worker, std::move(sub));
        else
          rp.deliver(make_error(errc::node_unreachable, "node " + s.self.name + " is " +
                                                            to_string(s.self.state) +
                                                            ": it takes no new runs"));
      },
      [=](drain_atom) {
        self->state.self.state = node_state::draining;
        tick(self); // tell the members now, not at the next heartbeat
      },
      [=](leave_atom) {
        auto& s = self->state;
        s.self.state = node_state::left;
        for (auto& [name, p] : s.peers)
          if (p.handle)
            self->send(p.handle, node_leave{s.self.name, s.self.incarnation});
        self->quit();
      },
  };
}

bool valid_member_name(const std::string& name) {
  if (name.empty() || name.size() > 64)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
}

} // namespace

caf::expected<std::pair<std::string, uint16_t>> parse_host_port(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_argument, "'" + text + "' is no HOST:PORT address: " + why);
  };
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return bad("an IPv6 address is written [ADDRESS]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos)
      return bad("the port is missing");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      return bad("an IPv6 address is written [ADDRESS]:PORT");
  }
  if (host.empty())
    return bad("the host is missing");
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(port) > 65535)
    return bad("the port must be a number from 0 to 65535");
  return std::make_pair(host, static_cast<uint16_t>(std::stoul(port)));
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1")
    return true;
  if (host.rfind("127.", 0) != 0)
    return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      return false;
  }
  return dots == 3;
}

caf::error check_link_options(const cluster_link_options& link,
                              const std::vector<std::string>& hosts) {
  bool any_tls = !link.tls_cert.empty() || !link.tls_key.empty() || !link.tls_ca.empty();
  if (link.insecure && any_tls)
    return make_error(errc::invalid_argument,
                      "--insecure and --tls-cert/--tls-key/--tls-ca exclude each other");
  if (link.insecure) {
    for (const auto& h : hosts)
      if (!is_loopback_host(h))
        return make_error(errc::invalid_argument,
                          "plain TCP (--insecure) is allowed on loopback only, and '" + h +
                              "' is not a loopback address: use --tls-cert, --tls-key and "
                              "--tls-ca (swarm cert makes them)");
    return {};
  }
  if (!any_tls)
    return make_error(errc::invalid_argument,
                      "a cluster link needs --tls-cert, --tls-key and --tls-ca (mutual TLS; "
                      "swarm cert makes them), or --insecure for plain TCP on loopback");
  return net::check_tls_files(net::tls_files{link.tls_cert, link.tls_key, link.tls_ca});
}

void apply_cluster_config(caf::actor_system_config& cfg, const cluster_link_options& link,
                          std::chrono::milliseconds heartbeat_interval,
                          std::chrono::milliseconds failure_timeout) {
  cfg.load<caf::io::middleman>();
  // Both ends must set both keys: a one-sided timeout drops healthy idle links.
  cfg.set("middleman.heartbeat-interval", caf::timespan{heartbeat_interval});
  cfg.set("middleman.connection-timeout", caf::timespan{2 * failure_timeout});
  if (link.insecure)
    return;
  cfg.load<caf::openssl::manager>();
  cfg.set("openssl.certificate", link.tls_cert);
  cfg.set("openssl.key", link.tls_key);
  cfg.set("openssl.cafile", link.tls_ca);
}

caf::error check_cluster_options(const cluster_options& opts) {
  auto listen = parse_host_port(opts.listen);
  if (!listen)
    return make_error(errc::invalid_argument, "--listen: " + describe(listen.error()));
  std::vector<std::string> hosts{listen->first};
  for (const auto& seed : opts.join) {
    auto hp = parse_host_port(seed);
    if (!hp)
      return make_error(errc::invalid_argument, "--join: " + describe(hp.error()));
    hosts.push_back(hp->first);
  }
  if (auto err = check_link_options(opts.link, hosts))
    return err;
  if (!opts.name.empty() && !valid_member_name(opts.name))
    return make_error(errc::invalid_argument,
                      "node name '" + opts.name +
                          "' is not 1 to 64 of the characters A-Z a-z 0-9 . _ : -");
  if (opts.heartbeat_interval.count() <= 0 || opts.failure_timeout < 2 * opts.heartbeat_interval)
    return make_error(errc::invalid_argument,
                      "the failure timeout must be at least two heartbeat intervals");
  if (!opts.link.insecure && !net::tls_error_queue_cleared())
    return make_error(errc::invalid_argument,
                      "this process's SSL_read is not SmolSwarms' (net/tls_error_queue.cpp): "
                      "link the runtime into the executable, not a shared library, for TLS "
                      "cluster links");
  return {};
}

caf::expected<caf::actor> start_cluster_node(caf::actor_system& sys, const cluster_options& opts,
                                             node_host host) {
  if (auto err = check_cluster_options(opts))
    return err;
  bool tls = !opts.link.insecure;
  if (tls && !sys.has_openssl_manager())
    return make_error(errc::invalid_argument, "the actor system was configured without TLS");
  caf::io::middleman_actor connector =
      tls ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
  auto incarnation = static_cast<uint64_t>(unix_ms());
  auto node = sys.spawn(node_behavior, opts, incarnation, connector, std::move(host));
  caf::scoped_actor waiter{sys};
  caf::error failed;
  waiter->request(node, caf::infinite, start_atom::value)
      .receive([](uint16_t) {}, [&](caf::error& err) { failed = std::move(err); });
  if (failed)
    return make_error(errc::invalid_argument,
                      "cannot listen on " + opts.listen + ": " + sys.render(failed));
  return node;
}

caf::expected<std::vector<node_info>>
cluster_members(caf::actor_system& sys, const caf::actor& node, std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  caf::expected<std::vector<node_info>> out{std::vector<node_info>{}};
  self->request(node, timeout, cluster_status_request{})
      .receive([&](std::vector<node_info>& members) { out = std::move(members); },
               [&](caf::error& err) { out = std::move(err); });
  return out;
}

void leave_cluster(caf::actor_system& sys, const caf::actor& node, std::function<bool()> idle,
                   std::chrono::milliseconds timeout) {
  caf::anon_send(node, drain_atom::value);
  auto deadline = steady::now() + timeout;
  while (idle && !idle() && steady::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  caf::scoped_actor self{sys};
  self->monitor(node);
  self->send(node, leave_atom::value);
  self->receive([](const caf::down_msg&) {}, caf::after(std::chrono::seconds(5)) >> [] {});
}

namespace {

// Calls `use(sys, node)` with the node actor at `address`, from a small actor system of this
// call's own (a process that is no node), linked as `link` says. CAF drops the link after
// 2 x `failure_timeout` of silence.
template <class T, class Use>
caf::expected<T> with_node(const std::string& address, const cluster_link_options& link,
                           std::chrono::milliseconds timeout,
                           std::chrono::milliseconds failure_timeout, Use use) {
  auto hp = parse_host_port(address);
  if (!hp)
    return make_error(errc::invalid_argument, "--cluster: " + describe(hp.error()));
  if (auto err = check_link_options(link, {hp->first}))
    return err;
  caf::actor_system_config cfg;
  register_types(cfg);
  apply_cluster_config(cfg, link, std::min(std::chrono::milliseconds(1000), failure_timeout / 2),
                       failure_timeout);
  cfg.set("scheduler.max-threads", size_t{2});
  caf::actor_system sys{cfg};
  // Connected through the middleman's actor, with the caller's deadline: CAF's blocking
  // remote_actor waits for good when a TLS handshake fails on some paths.
  caf::io::middleman_actor connector =
      link.insecure ? sys.middleman().actor_handle() : sys.openssl_manager().actor_handle();
  caf::actor node;
  caf::error failed;
  {
    caf::scoped_actor self{sys};
    self->request(connector, timeout, caf::connect_atom::value, hp->first, hp->second)
        .receive([&](const caf::node_id&, caf::strong_actor_ptr& ptr,
                     const std::set<std::string>&) { node = caf::actor_cast<caf::actor>(ptr); },
                 [&](caf::error& err) { failed = std::move(err); });
  }
  if (!node)
    return make_error(
        errc::node_unreachable,
        "no cluster node answers at " + address + ": " +
            (failed ? sys.render(failed) : std::string{"nothing is published there"}));
  return use(sys, node);
}

} // namespace

caf::expected<std::vector<node_info>> query_cluster(const std::string& address,
                                                    const cluster_link_options& link,
                                                    std::chrono::milliseconds timeout) {
  return with_node<std::vector<node_info>>(
      address, link, timeout, timeout,
      [&](caf::actor_system& sys, const caf::actor& node) -> caf::expected<std::vector<node_info>> {
        auto members = cluster_members(sys, node, timeout);
        if (!members)
          return make_error(errc::node_unreachable, "the node at " + address + " did not answer: " +
                                                        sys.render(members.error()));
        return members;
      });
}

caf::expected<result> run_on_cluster(const std::string& address, const cluster_link_options& link,
                                     run_submission sub, std::function<void(const event&)> on_event,
                                     std::chrono::milliseconds connect_timeout,
                                     std::function<bool()> stop_waiting) {
  auto use = [&](caf::actor_system& sys, const caf::actor& node) -> caf::expected<result> {
    caf::actor sink;
    // The events come from the node's event forwarder, the answer from its run worker: the last
    // events may arrive after the answer. The run's run_finished event is waited for (2 s).
    auto last = std::make_shared<std::promise<void>>();
    auto last_seen = last->get_future();
    // A run refused before it started (a spec the node cannot build, a run already running)
    // sends no events: only one that started has a run_finished to wait for.
    auto started = std::make_shared<std::atomic<bool>>(false);
    // State goes in spawn arguments: CAF 0.17.6 dereferences a null pointer when a function
    // actor is spawned with none.
    if (on_event)
      sink = sys.spawn(
          [](caf::event_based_actor*, std::function<void(const event&)> fn,
             std::shared_ptr<std::promise<void>> last,
             std::shared_ptr<std::atomic<bool>> started) -> caf::behavior {
            auto seen = std::make_shared<bool>(false);
            return {[fn, last, seen, started](const event& e) {
              fn(e);
              if (e.kind == event_kind::run_started)
                *started = true;
              if (e.kind == event_kind::run_finished && !std::exchange(*seen, true))
                last->set_value();
            }};
          },
          std::move(on_event), last, started);
    sub.events = sink;
    // The answer, or the loss of the link (the node's actor is then down): whichever is first.
    auto done = std::make_shared<std::promise<caf::expected<result>>>();
    auto answer = done->get_future();
    auto requester = sys.spawn(
        [done, node, address](caf::event_based_actor* self, run_submission sub) -> caf::behavior {
          auto answered = std::make_shared<bool>(false);
          auto finish = [self, done, answered](caf::expected<result> out) {
            if (!std::exchange(*answered, true))
              done->set_value(std::move(out));
            self->quit();
          };
          self->monitor(node);
          self->set_down_handler([finish, address, self](const caf::down_msg& dm) {
            auto why = dm.reason && dm.reason != caf::exit_reason::user_shutdown
                           ? "the link to the node at " + address + " was lost during the run (" +
                                 self->system().render(dm.reason) + ")"
                           : "the node at " + address + " stopped during the run";
            finish(make_error(errc::node_lost, why + ": the node owns the run; it goes on there, "
                                                     "or resumes when that node starts again"));
          });
          self->request(node, caf::infinite, std::move(sub))
              .then([finish](result& r) { finish(std::move(r)); },
                    [finish](caf::error& err) { finish(std::move(err)); });
          return {[](const std::string&) {}}; // waits for the answer only
        },
        std::move(sub));
    // Both actors end here: the actor system's shutdown waits for every actor.
    auto stop_actors = [&] {
      caf::anon_send_exit(requester, caf::exit_reason::user_shutdown);
      if (sink)
        caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    };
    while (answer.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
      if (stop_waiting && stop_waiting()) {
        stop_actors();
        return make_error(errc::runtime_stopped, "stopped waiting for the run; the node at " +
                                                     address + " goes on running it");
      }
    auto out = answer.get();
    if (sink && *started)
      last_seen.wait_for(std::chrono::seconds(2));
    stop_actors();
    return out;
  };
  // A node that stops answering (stopped, partitioned) is lost after twice the connect timeout.
  return with_node<result>(address, link, connect_timeout, connect_timeout, use);
}

} // namespace swarm
