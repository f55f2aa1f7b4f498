// The cluster's certificates with the OpenSSL C API: start-up checks of a node's TLS files and
// the test CA / node certificates of `swarm cert`.
#include "net/cluster_tls.hpp"

#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <memory>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include "runtime/core/errc.hpp"

namespace swarm::net {

namespace {

template <class T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* p) const { Free(p); }
};

using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using store_ptr = std::unique_ptr<X509_STORE, openssl_deleter<X509_STORE, X509_STORE_free>>;
using store_ctx_ptr =
    std::unique_ptr<X509_STORE_CTX, openssl_deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using bn_ptr = std::unique_ptr<BIGNUM, openssl_deleter<BIGNUM, BN_free>>;
using ext_ptr =
    std::unique_ptr<X509_EXTENSION, openssl_deleter<X509_EXTENSION, X509_EXTENSION_free>>;

constexpr long seconds_per_day = 86'400;
constexpr long ca_validity_s = 10L * 365 * seconds_per_day;
constexpr long node_validity_s = 2L * 365 * seconds_per_day;

caf::error invalid(std::string text) {
  return make_error(errc::invalid_argument, std::move(text));
}

// The last OpenSSL error as text, and the queue emptied.
std::string openssl_reason() {
  auto code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

// --- reading ------------------------------------------------------------------------------------

// "--tls-cert /path/n1.crt": how messages name a file.
std::string named(std::string_view flag, const std::string& path) {
  return std::string{flag} + " " + path;
}

caf::expected<std::string> read_file(std::string_view flag, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return invalid(named(flag, path) + " is a directory, not a PEM file");
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr)
    return invalid("cannot read " + named(flag, path) + ": " + std::strerror(errno));
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0 && out.size() < (1u << 20))
    out.append(buf, n);
  bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed)
    return invalid("cannot read " + named(flag, path) + ": read error");
  return out;
}

// The labels of the PEM blocks in `text` ("CERTIFICATE", "PRIVATE KEY"...), in order.
std::vector<std::string> pem_labels(const std::string& text) {
  std::vector<std::string> out;
  constexpr std::string_view begin = "-----BEGIN ";
  for (auto pos = text.find(begin); pos != std::string::npos; pos = text.find(begin, pos + 1)) {
    auto start = pos + begin.size();
    auto end = text.find("-----", start);
    if (end == std::string::npos || end - start > 64)
      continue;
    out.push_back(text.substr(start, end - start));
  }
  return out;
}

// Why `text` is not the PEM `want` ("a certificate"): not PEM at all, or PEM of another kind.
caf::error wrong_kind(std::string_view flag, const std::string& path, const std::string& text,
                      std::string_view want) {
  auto labels = pem_labels(text);
  if (labels.empty())
    return invalid(named(flag, path) + " is not PEM (no -----BEGIN line): expected " +
                   std::string{want});
  return invalid(named(flag, path) + " holds a PEM " + labels.front() + " block, not " +
                 std::string{want});
}

bio_ptr memory_bio(const std::string& text) {
  return bio_ptr{BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))};
}

caf::expected<std::vector<x509_ptr>> read_certs(std::string_view flag, const std::string& path,
                                                std::string_view want) {
  auto text = read_file(flag, path);
  if (!text)
    return text.error();
  auto bio = memory_bio(*text);
  std::vector<x509_ptr> out;
  while (auto* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    out.emplace_back(cert);
  ERR_clear_error(); // the end of the input reads as an error
  if (out.empty())
    return wrong_kind(flag, path, *text, want);
  return out;
}

// Counts the calls: PEM_read_bio_PrivateKey asks for a passphrase only for an encrypted key.
int refuse_passphrase(char*, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

caf::expected<pkey_ptr> read_key(std::string_view flag, const std::string& path) {
  auto text = read_file(flag, path);
  if (!text)
    return text.error();
  auto bio = memory_bio(*text);
  bool asked = false;
  pkey_ptr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, &asked)};
  ERR_clear_error();
  if (asked || text->find("ENCRYPTED") != std::string::npos)
    return invalid(named(flag, path) +
                   " is encrypted, and CAF would wait forever for its passphrase at the first "
                   "connection: decrypt it with `openssl pkey -in " +
                   path + " -out PLAIN.key` (and keep PLAIN.key mode 0600)");
  if (!key)
    return wrong_kind(flag, path, *text, "a private key");
  return key;
}

// --- describing ---------------------------------------------------------------------------------

std::string subject_of(const X509_NAME* name) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string subject_of(const X509* cert) {
  return subject_of(X509_get_subject_name(cert));
}

// "2028-12-05 04:30:00 UTC".
std::string date_of(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1)
    return "(unreadable date)";
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

caf::error check_dates(std::string_view flag, const std::string& path, const X509* cert) {
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
    return invalid(named(flag, path) + " (" + subject_of(cert) + ") is not valid before " +
                   date_of(X509_get0_notBefore(cert)));
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
    return invalid(named(flag, path) + " (" + subject_of(cert) + ") expired on " +
                   date_of(X509_get0_notAfter(cert)));
  return {};
}

} // namespace

// --- checking -----------------------------------------------------------------------------------

caf::expected<tls_identity> inspect_tls_files(const tls_files& f) {
  if (!f.complete()) {
    std::string missing = f.cert.empty() ? "--tls-cert" : f.key.empty() ? "--tls-key" : "--tls-ca";
    return invalid("mutual TLS needs --tls-cert, --tls-key and --tls-ca together: " + missing +
                   " is missing");
  }
  auto certs = read_certs("--tls-cert", f.cert, "a certificate");
  if (!certs)
    return certs.error();
  auto key = read_key("--tls-key", f.key);
  if (!key)
    return key.error();
  auto cas = read_certs("--tls-ca", f.ca, "a CA certificate");
  if (!cas)
    return cas.error();
  X509* cert = certs->front().get();
  for (const auto& ca : *cas)
    if (X509_check_ca(ca.get()) == 0)
      return invalid(named("--tls-ca", f.ca) + " (" + subject_of(ca.get()) +
                     ") is not a CA certificate (no CA:TRUE basic constraints)");
  if (X509_check_private_key(cert, key->get()) != 1) {
    ERR_clear_error();
    return invalid(named("--tls-key", f.key) + " is not the key of " + named("--tls-cert", f.cert) +
                   " (" + subject_of(cert) + ")");
  }
  if (auto err = check_dates("--tls-cert", f.cert, cert))
    return err;
  for (const auto& ca : *cas)
    if (auto err = check_dates("--tls-ca", f.ca, ca.get()))
      return err;
  // A node is both: it accepts links (server) and opens them (client).
  if (X509_check_purpose(cert, X509_PURPOSE_SSL_SERVER, 0) != 1 ||
      X509_check_purpose(cert, X509_PURPOSE_SSL_CLIENT, 0) != 1)
    return invalid(named("--tls-cert", f.cert) + " (" + subject_of(cert) +
                   ") is not usable for both TLS server and client (its extendedKeyUsage must "
                   "allow serverAuth and clientAuth)");
  store_ptr store{X509_STORE_new()};
  for (const auto& ca : *cas)
    X509_STORE_add_cert(store.get(), ca.get());
  STACK_OF(X509)* chain = sk_X509_new_null();
  for (size_t i = 1; i < certs->size(); ++i)
    sk_X509_push(chain, (*certs)[i].get());
  store_ctx_ptr ctx{X509_STORE_CTX_new()};
  X509_STORE_CTX_init(ctx.get(), store.get(), cert, chain);
  int ok = X509_verify_cert(ctx.get());
  int code = X509_STORE_CTX_get_error(ctx.get());
  sk_X509_free(chain);
  ERR_clear_error();
  if (ok != 1) {
    switch (code) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return invalid(named("--tls-cert", f.cert) + " (" + subject_of(cert) + ") is issued by " +
                     subject_of(X509_get_issuer_name(cert)) + ", not by the cluster CA " +
                     subject_of(cas->front().get()) + " of " + named("--tls-ca", f.ca));
    default:
      return invalid(named("--tls-cert", f.cert) + " (" + subject_of(cert) +
                     ") does not verify against " + named("--tls-ca", f.ca) + ": " +
                     X509_verify_cert_error_string(code));
    }
  }
  return tls_identity{subject_of(cert), date_of(X509_get0_notAfter(cert))};
}

caf::error check_tls_files(const tls_files& f) {
  auto id = inspect_tls_files(f);
  return id ? caf::error{} : id.error();
}

// --- writing ------------------------------------------------------------------------------------

namespace {

caf::error refuse_existing(const std::vector<std::filesystem::path>& paths, bool overwrite) {
  if (overwrite)
    return {};
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(p, ec)))
      return invalid(p.string() + " already exists: remove it, or pass --force to replace it");
  }
  return {};
}

// Writes `text` to `path` with `mode` (also when the file already existed).
caf::error write_whole(const std::filesystem::path& path, const std::string& text, mode_t mode,
                       bool overwrite) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0)
    return make_error(errc::io_error,
                      "cannot write " + path.string() + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, mode) == 0;
  for (size_t done = 0; ok && done < text.size();) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    ok = n > 0;
    if (ok)
      done += static_cast<size_t>(n);
  }
  int saved = errno;
  ok = ::close(fd) == 0 && ok;
  if (!ok)
    return make_error(errc::io_error,
                      "cannot write " + path.string() + ": " + std::strerror(saved));
  return {};
}

caf::expected<std::string> pem_of_cert(X509* cert) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (PEM_write_bio_X509(bio.get(), cert) != 1)
    return make_error(errc::io_error, "cannot encode a certificate: " + openssl_reason());
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

caf::expected<std::string> pem_of_key(EVP_PKEY* key) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return make_error(errc::io_error, "cannot encode a private key: " + openssl_reason());
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// Writes the key (0600) then the certificate (0644).
caf::error write_pair(const std::filesystem::path& crt, const std::filesystem::path& key_path,
                      X509* cert, EVP_PKEY* key, bool overwrite) {
  auto key_pem = pem_of_key(key);
  if (!key_pem)
    return key_pem.error();
  auto cert_pem = pem_of_cert(cert);
  if (!cert_pem)
    return cert_pem.error();
  if (auto err = write_whole(key_path, *key_pem, 0600, overwrite))
    return err;
  return write_whole(crt, *cert_pem, 0644, overwrite);
}

caf::error add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  ext_ptr ext{X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str())};
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return make_error(errc::io_error, "cannot add the extension " + std::string{OBJ_nid2sn(nid)} +
                                          " = " + value + ": " + openssl_reason());
  return {};
}

caf::error random_serial(X509* cert) {
  bn_ptr bn{BN_new()};
  // 127 random bits, positive: unique per certificate without a serial file.
  if (!bn || BN_rand(bn.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr)
    return make_error(errc::io_error, "cannot make a serial number: " + openssl_reason());
  return {};
}

// A new X509 v3 with subject `subject` entries, a random serial, the validity window and `key`.
caf::expected<x509_ptr> new_cert(const std::vector<std::pair<std::string, std::string>>& subject,
                                 long not_before_s, long not_after_s, EVP_PKEY* key) {
  x509_ptr cert{X509_new()};
  if (!cert || X509_set_version(cert.get(), 2) != 1)
    return make_error(errc::io_error, "cannot make a certificate: " + openssl_reason());
  if (auto err = random_serial(cert.get()))
    return err;
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : subject)
    if (X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1)
      return make_error(errc::io_error, "cannot set " + field + ": " + openssl_reason());
  if (X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, not_before_s, nullptr) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0, not_after_s, nullptr) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1)
    return make_error(errc::io_error, "cannot fill a certificate: " + openssl_reason());
  return cert;
}

caf::expected<pkey_ptr> new_rsa_key() {
  pkey_ptr key{EVP_RSA_gen(2048)};
  if (!key)
    return make_error(errc::io_error, "cannot generate an RSA key: " + openssl_reason());
  return key;
}

caf::error make_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return make_error(errc::io_error, "cannot create " + dir.string() + ": " + ec.message());
  return {};
}

bool is_ipv4(const std::string& name) {
  in_addr addr{};
  return ::inet_pton(AF_INET, name.c_str(), &addr) == 1;
}

} // namespace

bool valid_node_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == ".." || name == "ca")
    return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

caf::error write_cluster_ca(const std::filesystem::path& dir, bool overwrite) {
  auto crt = dir / "ca.crt";
  auto key_path = dir / "ca.key";
  if (auto err = refuse_existing({crt, key_path}, overwrite))
    return err;
  auto key = new_rsa_key();
  if (!key)
    return key.error();
  // A random OU tells two clusters' CAs apart in messages ("issued by ..., not by ...").
  unsigned char id[4];
  if (RAND_bytes(id, sizeof(id)) != 1)
    return make_error(errc::io_error, "cannot draw random bytes: " + openssl_reason());
  char ou[32];
  std::snprintf(ou, sizeof(ou), "cluster %02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
  auto cert = new_cert({{"O", "SmolSwarms"}, {"OU", ou}, {"CN", "SmolSwarms cluster CA"}}, 0,
                       ca_validity_s, key->get());
  if (!cert)
    return cert.error();
  X509_set_issuer_name(cert->get(), X509_get_subject_name(cert->get()));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert->get(), cert->get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}})
    if (auto err = add_ext(cert->get(), &ctx, nid, value))
      return err;
  if (X509_sign(cert->get(), key->get(), EVP_sha256()) <= 0)
    return make_error(errc::io_error, "cannot sign the CA certificate: " + openssl_reason());
  if (auto err = make_dir(dir))
    return err;
  return write_pair(crt, key_path, cert->get(), key->get(), overwrite);
}

caf::error write_node_cert_valid(const std::filesystem::path& dir, const std::string& name,
                                 std::chrono::seconds not_before, std::chrono::seconds not_after,
                                 bool overwrite) {
  if (!valid_node_name(name))
    return invalid("node name '" + name +
                   "' must be 1 to 64 letters, digits, '.', '_' or '-' (and not '.', '..' or "
                   "'ca')");
  auto ca_crt = dir / "ca.crt";
  auto ca_key = dir / "ca.key";
  for (const auto& p : {ca_crt, ca_key}) {
    std::error_code ec;
    if (!std::filesystem::exists(p, ec))
      return invalid(p.string() + " is missing: make the cluster CA first with `swarm cert ca " +
                     dir.string() + "`");
  }
  auto ca_certs = read_certs("CA certificate", ca_crt.string(), "a CA certificate");
  if (!ca_certs)
    return ca_certs.error();
  auto ca_pkey = read_key("CA key", ca_key.string());
  if (!ca_pkey)
    return ca_pkey.error();
  X509* ca = ca_certs->front().get();
  if (X509_check_private_key(ca, ca_pkey->get()) != 1) {
    ERR_clear_error();
    return invalid(ca_key.string() + " is not the key of " + ca_crt.string());
  }
  auto crt = dir / (name + ".crt");
  auto key_path = dir / (name + ".key");
  if (auto err = refuse_existing({crt, key_path}, overwrite))
    return err;
  auto key = new_rsa_key();
  if (!key)
    return key.error();
  auto cert = new_cert({{"CN", name}}, static_cast<long>(not_before.count()),
                       static_cast<long>(not_after.count()), key->get());
  if (!cert)
    return cert.error();
  X509_set_issuer_name(cert->get(), X509_get_subject_name(ca));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca, cert->get(), nullptr, nullptr, 0);
  std::string san = "DNS:" + name;
  if (is_ipv4(name))
    san += ",IP:" + name;
  for (auto [nid, value] :
       {std::pair<int, std::string>{NID_basic_constraints, "critical,CA:FALSE"},
        std::pair<int, std::string>{NID_key_usage, "critical,digitalSignature,keyEncipherment"},
        std::pair<int, std::string>{NID_ext_key_usage, "serverAuth,clientAuth"},
        std::pair<int, std::string>{NID_subject_key_identifier, "hash"},
        std::pair<int, std::string>{NID_authority_key_identifier, "keyid:always"},
        std::pair<int, std::string>{NID_subject_alt_name, san}})
    if (auto err = add_ext(cert->get(), &ctx, nid, value))
      return err;
  if (X509_sign(cert->get(), ca_pkey->get(), EVP_sha256()) <= 0)
    return make_error(errc::io_error, "cannot sign the certificate: " + openssl_reason());
  return write_pair(crt, key_path, cert->get(), key->get(), overwrite);
}

caf::error write_node_cert(const std::filesystem::path& dir, const std::string& name,
                           bool overwrite) {
  return write_node_cert_valid(dir, name, std::chrono::seconds{0},
                               std::chrono::seconds{node_validity_s}, overwrite);
}

} // namespace swarm::net
