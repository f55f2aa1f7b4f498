// Unit tests of the cluster's certificates: the test CA and node certificates written by
// `swarm cert`, and the start-up check of a node's TLS files refusing each bad set by name.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "net/cluster_tls.hpp"
#include "runtime/core/errc.hpp"

namespace fs = std::filesystem;
using swarm::errc;
using swarm::net::check_tls_files;
using swarm::net::inspect_tls_files;
using swarm::net::tls_files;
using swarm::net::write_cluster_ca;
using swarm::net::write_node_cert;
using swarm::net::write_node_cert_valid;

namespace {

// A fresh directory under the system's temporary directory, removed at scope exit.
struct temp_dir {
  fs::path path;
  temp_dir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("swarm-cluster-tls-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::remove_all(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string message_of(const caf::error& err) {
  return swarm::error_message(err);
}

// The error of check_tls_files, asserted to be invalid_argument; its message.
std::string refusal(const tls_files& f) {
  auto err = check_tls_files(f);
  REQUIRE(err);
  CHECK(swarm::is(err, errc::invalid_argument));
  return message_of(err);
}

int run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream{path} << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A cluster CA and node n1 in `d`.
void make_cluster(const temp_dir& d) {
  REQUIRE_FALSE(write_cluster_ca(d.path));
  REQUIRE_FALSE(write_node_cert(d.path, "n1"));
}

tls_files files_of(const temp_dir& d, const std::string& node) {
  return {d / (node + ".crt"), d / (node + ".key"), d / "ca.crt"};
}

} // namespace

TEST_CASE("cluster_tls: a written CA and node certificate pass the check") {
  temp_dir d;
  make_cluster(d);
  auto id = inspect_tls_files(files_of(d, "n1"));
  REQUIRE(id);
  CHECK(id->subject == "CN=n1");
  CHECK(id->not_after.ends_with(" UTC"));
  auto year = std::stoi(id->not_after.substr(0, 4));
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  CHECK(year - (1900 + std::gmtime(&now)->tm_year) == 2);
  // Keys are private to their owner; certificates are not.
  struct stat st {};
  REQUIRE(::stat((d / "ca.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((d / "n1.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // The CA's own certificate is no node's: it may only sign.
  CHECK(refusal({d / "ca.crt", d / "ca.key", d / "ca.crt"})
            .find("is not usable for both TLS server and client") != std::string::npos);
}

TEST_CASE("cluster_tls: the written certificates are what openssl expects") {
  temp_dir d;
  make_cluster(d);
  REQUIRE_FALSE(write_node_cert(d.path, "127.0.0.1"));
  CHECK(run("openssl verify -CAfile " + (d / "ca.crt") + " " + (d / "n1.crt")) == 0);
  CHECK(run("openssl verify -purpose sslclient -CAfile " + (d / "ca.crt") + " " + (d / "n1.crt")) ==
        0);
  CHECK(run("openssl verify -purpose sslserver -CAfile " + (d / "ca.crt") + " " + (d / "n1.crt")) ==
        0);
  // Another CA does not verify it: the verification above can fail.
  temp_dir other;
  REQUIRE_FALSE(write_cluster_ca(other.path));
  CHECK(run("openssl verify -CAfile " + (other / "ca.crt") + " " + (d / "n1.crt")) != 0);
  auto text_of = [&](const std::string& file) {
    auto out = d / "x509.txt";
    REQUIRE(run("openssl x509 -noout -text -in " + (d / file) + " -out " + out) == 0);
    return read_text(out);
  };
  auto ca = text_of("ca.crt");
  CHECK(ca.find("CA:TRUE") != std::string::npos);
  CHECK(ca.find("Certificate Sign") != std::string::npos);
  CHECK(ca.find("CN = SmolSwarms cluster CA") != std::string::npos);
  CHECK(ca.find("Public-Key: (2048 bit)") != std::string::npos);
  auto node = text_of("n1.crt");
  CHECK(node.find("Subject: CN = n1") != std::string::npos);
  CHECK(node.find("DNS:n1") != std::string::npos);
  CHECK(node.find("TLS Web Server Authentication, TLS Web Client Authentication") !=
        std::string::npos);
  CHECK(node.find("CA:FALSE") != std::string::npos);
  CHECK(node.find("Public-Key: (2048 bit)") != std::string::npos);
  auto ip = text_of("127.0.0.1.crt");
  CHECK(ip.find("DNS:127.0.0.1, IP Address:127.0.0.1") != std::string::npos);
  // Random serials: two certificates never share one.
  REQUIRE_FALSE(write_node_cert(d.path, "n2"));
  REQUIRE(run("openssl x509 -noout -serial -in " + (d / "n1.crt") + " -out " + (d / "s1")) == 0);
  REQUIRE(run("openssl x509 -noout -serial -in " + (d / "n2.crt") + " -out " + (d / "s2")) == 0);
  CHECK(read_text(d / "s1") != read_text(d / "s2"));
}

TEST_CASE("cluster_tls: a missing flag is named") {
  temp_dir d;
  make_cluster(d);
  auto f = files_of(d, "n1");
  CHECK_FALSE(tls_files{}.any());
  CHECK(f.complete());
  f.cert.clear();
  CHECK(f.any());
  CHECK_FALSE(f.complete());
  CHECK(refusal(f).find("--tls-cert is missing") != std::string::npos);
  f = files_of(d, "n1");
  f.key.clear();
  CHECK(refusal(f).find("--tls-key is missing") != std::string::npos);
  f = files_of(d, "n1");
  f.ca.clear();
  CHECK(refusal(f).find("--tls-ca is missing") != std::string::npos);
}

TEST_CASE("cluster_tls: a missing file, a directory and a non-PEM file are named") {
  temp_dir d;
  make_cluster(d);
  auto f = files_of(d, "n1");
  f.key = d / "nope.key";
  auto msg = refusal(f);
  CHECK(msg.find("cannot read --tls-key " + (d / "nope.key")) != std::string::npos);
  CHECK(msg.find("No such file") != std::string::npos);
  f = files_of(d, "n1");
  f.ca = d.path.string();
  CHECK(refusal(f).find("--tls-ca " + d.path.string() + " is a directory") != std::string::npos);
  write_text(d / "junk.pem", "hello, not a certificate\n");
  f = files_of(d, "n1");
  f.cert = d / "junk.pem";
  CHECK(refusal(f).find("--tls-cert " + (d / "junk.pem") + " is not PEM") != std::string::npos);
  // PEM of the wrong kind: the key given as the certificate, the certificate as the key.
  f = files_of(d, "n1");
  f.cert = d / "n1.key";
  CHECK(refusal(f).find("holds a PEM PRIVATE KEY block, not a certificate") != std::string::npos);
  f = files_of(d, "n1");
  f.key = d / "n1.crt";
  CHECK(refusal(f).find("holds a PEM CERTIFICATE block, not a private key") != std::string::npos);
  // A node certificate given as the CA.
  f = files_of(d, "n1");
  f.ca = d / "n1.crt";
  CHECK(refusal(f).find("is not a CA certificate") != std::string::npos);
}

TEST_CASE("cluster_tls: an encrypted key is refused with the way to decrypt it") {
  temp_dir d;
  make_cluster(d);
  REQUIRE(run("openssl pkey -in " + (d / "n1.key") + " -aes256 -passout pass:x -out " +
              (d / "enc.key")) == 0);
  auto f = files_of(d, "n1");
  f.key = d / "enc.key";
  auto msg = refusal(f);
  CHECK(msg.find("--tls-key " + (d / "enc.key") + " is encrypted") != std::string::npos);
  CHECK(msg.find("openssl pkey -in " + (d / "enc.key")) != std::string::npos);
  // The same key decrypted passes.
  REQUIRE(run("openssl pkey -in " + (d / "enc.key") + " -passin pass:x -out " +
              (d / "plain.key")) == 0);
  f.key = d / "plain.key";
  CHECK_FALSE(check_tls_files(f));
}

TEST_CASE("cluster_tls: the key of another certificate is refused") {
  temp_dir d;
  make_cluster(d);
  REQUIRE_FALSE(write_node_cert(d.path, "n2"));
  auto f = files_of(d, "n1");
  f.key = d / "n2.key";
  auto msg = refusal(f);
  CHECK(msg.find("--tls-key " + (d / "n2.key") + " is not the key of --tls-cert " + (d / "n1.crt") +
                 " (CN=n1)") != std::string::npos);
}

TEST_CASE("cluster_tls: a certificate of another CA is refused naming both CAs") {
  temp_dir d;
  temp_dir other;
  make_cluster(d);
  REQUIRE_FALSE(write_cluster_ca(other.path));
  REQUIRE_FALSE(write_node_cert(other.path, "intruder"));
  auto f = files_of(other, "intruder");
  f.ca = d / "ca.crt";
  auto msg = refusal(f);
  INFO(msg);
  CHECK(msg.find("(CN=intruder) is issued by CN=SmolSwarms cluster CA,OU=cluster ") !=
        std::string::npos);
  CHECK(msg.find(", not by the cluster CA CN=SmolSwarms cluster CA,OU=cluster ") !=
        std::string::npos);
  // The two CAs' names differ (their random OU), so the message tells them apart.
  auto ous = [](const std::string& m, size_t from) {
    auto at = m.find("OU=cluster ", from);
    return m.substr(at + 11, 8);
  };
  auto first = msg.find("issued by");
  auto second = msg.find("not by the cluster CA");
  CHECK(ous(msg, first) != ous(msg, second));
  // A self-signed node certificate (from no CA) is refused too.
  REQUIRE(run("openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=self -addext "
              "extendedKeyUsage=serverAuth,clientAuth -keyout " +
              (d / "self.key") + " -out " + (d / "self.crt")) == 0);
  msg = refusal(files_of(d, "self"));
  CHECK(msg.find("(CN=self) is issued by CN=self, not by the cluster CA") != std::string::npos);
}

TEST_CASE("cluster_tls: expired and not yet valid certificates are refused with the date") {
  using namespace std::chrono_literals;
  temp_dir d;
  make_cluster(d);
  REQUIRE_FALSE(write_node_cert_valid(d.path, "old", -48h, -24h));
  auto msg = refusal(files_of(d, "old"));
  CHECK(msg.find("--tls-cert " + (d / "old.crt") + " (CN=old) expired on ") != std::string::npos);
  CHECK(msg.ends_with(" UTC"));
  REQUIRE_FALSE(write_node_cert_valid(d.path, "early", 24h, 48h));
  msg = refusal(files_of(d, "early"));
  CHECK(msg.find("--tls-cert " + (d / "early.crt") + " (CN=early) is not valid before ") !=
        std::string::npos);
}

TEST_CASE("cluster_tls: node names outside [A-Za-z0-9._-]{1,64} are refused by the rule") {
  temp_dir d;
  REQUIRE_FALSE(write_cluster_ca(d.path));
  for (const auto& bad : std::vector<std::string>{"", "a/b", "../x", ".", "..", "ca", "n 1",
                                                  "n1:80", "é", std::string(65, 'a')}) {
    INFO("name '" << bad << "'");
    auto err = write_node_cert(d.path, bad);
    REQUIRE(err);
    CHECK(swarm::is(err, errc::invalid_argument));
    CHECK(message_of(err).find("must be 1 to 64 letters, digits") != std::string::npos);
  }
  for (const auto& good :
       std::vector<std::string>{"n1", "127.0.0.1_4242", "node-a.b", std::string(64, 'z')})
    CHECK_FALSE(write_node_cert(d.path, good));
}

TEST_CASE("cluster_tls: a node certificate without a CA names the file and the command") {
  temp_dir d;
  auto err = write_node_cert(d.path, "n1");
  REQUIRE(err);
  CHECK(message_of(err).find((d / "ca.crt") + " is missing") != std::string::npos);
  CHECK(message_of(err).find("swarm cert ca " + d.path.string()) != std::string::npos);
}

TEST_CASE("cluster_tls: existing files are not replaced without overwrite") {
  temp_dir d;
  make_cluster(d);
  auto ca_before = read_text(d / "ca.crt");
  auto err = write_cluster_ca(d.path);
  REQUIRE(err);
  CHECK(message_of(err).find((d / "ca.crt") + " already exists") != std::string::npos);
  CHECK(read_text(d / "ca.crt") == ca_before);
  auto node_before = read_text(d / "n1.crt");
  err = write_node_cert(d.path, "n1");
  REQUIRE(err);
  CHECK(message_of(err).find((d / "n1.crt") + " already exists") != std::string::npos);
  CHECK(read_text(d / "n1.crt") == node_before);
  // With overwrite: new files, mode 0600 even for a key that was readable before.
  ::chmod((d / "n1.key").c_str(), 0644);
  REQUIRE_FALSE(write_node_cert(d.path, "n1", true));
  CHECK(read_text(d / "n1.crt") != node_before);
  struct stat st {};
  REQUIRE(::stat((d / "n1.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_FALSE(check_tls_files(files_of(d, "n1")));
  // A new CA: n1's certificate, signed by the old one, no longer verifies.
  REQUIRE_FALSE(write_cluster_ca(d.path, true));
  CHECK(read_text(d / "ca.crt") != ca_before);
  CHECK(refusal(files_of(d, "n1")).find("not by the cluster CA") != std::string::npos);
}
