// One connection of the mock server (session.cpp): reads requests, answers them from the
// script with their latency and faults, and counts a client that goes away as a cancel.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "mock_llm/detail/server_state.hpp"

namespace swarm::mock_llm::detail {

/// Serves `socket` on its executor (a strand when the server has several threads) until the
/// client closes or the server's context stops; over TLS when `tls` is set (it must outlive the
/// context). `state` must outlive the context too.
void serve_connection(shared_state& state, boost::asio::ip::tcp::socket socket,
                      boost::asio::ssl::context* tls);

} // namespace swarm::mock_llm::detail
