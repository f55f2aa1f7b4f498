// The TLS settings of the LLM client's context. Asio stays in the .cpp files.
#pragma once

#include <string>

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

namespace swarm::net {

/// Sets up `ctx` for the client: TLS 1.2 or newer; when `verify`, the system's CA paths and
/// `ca_file` (if not empty). Returns why the CA file cannot be used, or empty.
std::string configure_tls_client(boost::asio::ssl::context& ctx, bool verify,
                                 const std::string& ca_file);

} // namespace swarm::net
