// The cluster's certificates: start-up checks of a node's --tls-cert/--tls-key/--tls-ca files
// (what CAF's OpenSSL module would only find at the first connection) and the making of a test
// CA and node certificates for `swarm cert`. OpenSSL stays inside cluster_tls.cpp.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace swarm::net {

/// The three PEM files of a node's mutual TLS: its certificate, its private key and the
/// cluster CA's certificate (the flags --tls-cert, --tls-key, --tls-ca).
struct tls_files {
  std::string cert;
  std::string key;
  std::string ca;

  /// True if any of the three is given (TLS was asked for).
  bool any() const { return !cert.empty() || !key.empty() || !ca.empty(); }

  /// True if all three are given.
  bool complete() const { return !cert.empty() && !key.empty() && !ca.empty(); }
};

/// What check_tls_files found in a valid set: the certificate's subject ("CN=n1") and the end
/// of its validity ("2028-12-05 04:30:00 UTC").
struct tls_identity {
  std::string subject;
  std::string not_after;
};

/// Checks `f` as a node would use it, before CAF does: all three files given (else names the
/// missing flag), readable, PEM of the right kind, the key not encrypted (CAF would wait for a
/// passphrase), the key matching the certificate, the certificate within its validity dates,
/// usable for both TLS client and server, and signed by the CA. Errors are
/// `errc::invalid_argument` naming the file and the problem.
caf::expected<tls_identity> inspect_tls_files(const tls_files& f);

/// inspect_tls_files without its result.
caf::error check_tls_files(const tls_files& f);

/// Writes `dir`/ca.crt and `dir`/ca.key (mode 0600): a self-signed RSA 2048 CA, CN "SmolSwarms
/// cluster CA" (with a random OU so that two clusters' CAs have different names), CA:TRUE,
/// keyCertSign, valid 10 years. Creates `dir` if missing. Refuses to replace an existing file
/// unless `overwrite`.
caf::error write_cluster_ca(const std::filesystem::path& dir, bool overwrite = false);

/// Writes `dir`/NAME.crt and `dir`/NAME.key (mode 0600), signed by `dir`/ca.crt + ca.key: RSA
/// 2048, CN=NAME, subjectAltName DNS:NAME (and IP:NAME if NAME is an IPv4 address), serverAuth
/// and clientAuth, valid 2 years, random serial. NAME is 1 to 64 of [A-Za-z0-9._-], not ".",
/// ".." or "ca". Refuses to replace an existing file unless `overwrite`.
caf::error write_node_cert(const std::filesystem::path& dir, const std::string& name,
                           bool overwrite = false);

/// write_node_cert with the validity window [now + not_before, now + not_after]: lets tests make
/// expired and not-yet-valid certificates.
caf::error write_node_cert_valid(const std::filesystem::path& dir, const std::string& name,
                                 std::chrono::seconds not_before, std::chrono::seconds not_after,
                                 bool overwrite = false);

/// True if `name` is a valid node name for write_node_cert.
bool valid_node_name(const std::string& name);

} // namespace swarm::net
