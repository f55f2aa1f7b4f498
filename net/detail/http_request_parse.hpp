// The reading of one API request, shared by the server's sessions and the fuzz target
// `api_request`: the limits a Beast parser reads a request under, and the conversion of the
// parsed request into the net::http_request the handler gets. Private to net/ (and fuzz/):
// Beast stays out of every other header.
#pragma once

#include <cstddef>
#include <string>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "net/http_server.hpp"

namespace swarm::net::detail {

using beast_request = boost::beast::http::request<boost::beast::http::string_body>;
using beast_request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// Sets the body and head limits of `opts` (max_body, max_header) on `p`, before it reads.
void apply_limits(beast_request_parser& p, const http_server_options& opts);

/// The request `req` as the handler gets it: method, target, the target's path percent-decoded
/// and its query as sent, header names in lower case (in their order, repeats kept), the body
/// (moved out of `req`), `remote`, and whether it asks for a WebSocket upgrade.
http_request to_http_request(beast_request& req, std::string remote);

} // namespace swarm::net::detail
