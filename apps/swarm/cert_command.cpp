// `swarm cert`: makes a test cluster CA and node certificates for the cluster's mutual TLS, and
// checks a node's --tls-cert/--tls-key/--tls-ca as `swarm node` does at start-up.
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/swarm/commands.hpp"
#include "net/cluster_tls.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::cli {

namespace {

struct cert_args {
  std::string dir;
  std::string name;
  bool force = false;
  net::tls_files files;
};

int fail(const std::string& sub, const caf::error& err) {
  std::cerr << "swarm cert " << sub << ": " << error_message(err) << "\n";
  return static_cast<int>(is(err, errc::invalid_argument) ? exit_usage : exit_failed);
}

int make_ca(const cert_args& args) {
  if (auto err = net::write_cluster_ca(args.dir, args.force))
    return fail("ca", err);
  std::filesystem::path dir{args.dir};
  std::cout << "wrote " << (dir / "ca.crt").string() << "\n"
            << "wrote " << (dir / "ca.key").string() << " (keep it secret: it signs nodes)\n";
  return exit_ok;
}

int make_node(const cert_args& args) {
  if (auto err = net::write_node_cert(args.dir, args.name, args.force))
    return fail("node", err);
  std::filesystem::path dir{args.dir};
  std::cout << "wrote " << (dir / (args.name + ".crt")).string() << "\n"
            << "wrote " << (dir / (args.name + ".key")).string() << "\n";
  return exit_ok;
}

int check(const cert_args& args) {
  auto id = net::inspect_tls_files(args.files);
  if (!id)
    return fail("check", id.error());
  std::cout << "ok: " << id->subject << ", valid until " << id->not_after << "\n";
  return exit_ok;
}

} // namespace

void add_tls_flags(CLI::App& sub, net::tls_files& files) {
  sub.add_option("--tls-cert", files.cert, "PEM certificate of this node, signed by --tls-ca");
  sub.add_option("--tls-key", files.key, "PEM private key of --tls-cert (not encrypted)");
  sub.add_option("--tls-ca", files.ca, "PEM certificate of the cluster CA");
}

command add_cert_command(CLI::App& app) {
  auto args = std::make_shared<cert_args>();
  auto* sub =
      app.add_subcommand("cert", "make a test cluster CA and node certificates; check them");
  sub->require_subcommand(1);
  auto* ca = sub->add_subcommand("ca", "write DIR/ca.crt and DIR/ca.key: a new cluster CA");
  ca->add_option("dir", args->dir, "the directory (created if missing)")->required();
  ca->add_flag("--force", args->force, "replace existing files");
  auto* node =
      sub->add_subcommand("node", "write DIR/NAME.crt and DIR/NAME.key, signed by DIR's CA");
  node->add_option("dir", args->dir, "the directory holding ca.crt and ca.key")->required();
  node->add_option("name", args->name, "the node's name: 1 to 64 of A-Z a-z 0-9 . _ -")->required();
  node->add_flag("--force", args->force, "replace existing files");
  auto* chk = sub->add_subcommand(
      "check", "check a node's certificate, key and CA as `swarm node` does at start-up");
  add_tls_flags(*chk, args->files);
  return [args, sub] {
    const auto& name = sub->get_subcommands().front()->get_name();
    if (name == "ca")
      return make_ca(*args);
    if (name == "node")
      return make_node(*args);
    return check(*args);
  };
}

} // namespace swarm::cli
