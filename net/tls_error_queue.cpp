// CAF 0.17.6's OpenSSL sessions (libcaf_openssl) never empty OpenSSL's per-thread error queue.
// A handshake that fails (a peer of another CA) or a peer that closes without close_notify
// (any process exit; OpenSSL 3 queues "unexpected eof") leaves an entry there, and the next
// SSL_read on any other link of the same I/O thread that has no data yet returns -1, for which
// SSL_get_error then reports SSL_ERROR_SSL instead of SSL_ERROR_WANT_READ: CAF closes that
// healthy link. OpenSSL's documentation asks callers to empty the queue before each I/O call,
// as Boost.Asio does. These definitions do it for every caller in the process: the executable
// exports them (shared libraries reference them), so libcaf_openssl's calls land here first and
// go on to libssl's through dlsym(RTLD_NEXT). docs/decisions.md, "TLS links and OpenSSL's
// error queue"; cluster_tls_test.sh fails without them.
#include "net/tls_error_queue.hpp"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template <class Fn>
Fn next_definition(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real = next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto real = next_definition<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

int SSL_connect(SSL* ssl) {
  static auto real = next_definition<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"

namespace swarm::net {

bool tls_error_queue_cleared() {
  // The process-wide definition is ours unless something loaded earlier took precedence.
  return dlsym(RTLD_DEFAULT, "SSL_read") == reinterpret_cast<void*>(&SSL_read);
}

} // namespace swarm::net
