// A repair of CAF 0.17.6's TLS links under OpenSSL 3: see tls_error_queue.cpp.
#pragma once

namespace swarm::net {

/// True when this process's SSL_read, SSL_write, SSL_accept and SSL_connect are the ones of
/// tls_error_queue.cpp, which empty the calling thread's OpenSSL error queue first. Linking it
/// in is what puts them in place; calling this keeps the linker from leaving it out.
bool tls_error_queue_cleared();

} // namespace swarm::net
