// The TLS settings of the LLM client's context (see tls_client.hpp).
#include "net/tls_client.hpp"

#include <boost/asio/ssl.hpp>

namespace swarm::net {

std::string configure_tls_client(boost::asio::ssl::context& ctx, bool verify,
                                 const std::string& ca_file) {
  namespace ssl = boost::asio::ssl;
  boost::system::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                  ec);
  if (!verify)
    return {};
  ctx.set_default_verify_paths(ec);
  if (!ca_file.empty()) {
    ctx.load_verify_file(ca_file, ec);
    if (ec)
      return "cannot load ca_file " + ca_file + ": " + ec.message();
  }
  return {};
}

} // namespace swarm::net
