// A parsed Beast request as the API's http_request, and the readers of its path and query.
#include "net/detail/http_request_parse.hpp"

#include <cctype>
#include <cstdint>
#include <string_view>
#include <utility>

#include <boost/beast/websocket/rfc6455.hpp>

namespace swarm::net {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto hi = hex_value(s[i + 1]);
      auto lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

std::string_view http_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name)
      return v;
  return {};
}

std::string http_request::param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    auto eq = part.find('=');
    if (percent_decode(part.substr(0, eq), true) != name)
      continue;
    return eq == std::string_view::npos ? std::string{} : percent_decode(part.substr(eq + 1), true);
  }
  return {};
}

namespace detail {

void apply_limits(beast_request_parser& p, const http_server_options& opts) {
  p.body_limit(opts.max_body);
  p.header_limit(static_cast<uint32_t>(opts.max_header));
}

http_request to_http_request(beast_request& req, std::string remote) {
  http_request r;
  r.method = std::string{req.method_string()};
  r.target = std::string{req.target()};
  auto q = r.target.find('?');
  r.path = percent_decode(std::string_view{r.target}.substr(0, q), false);
  if (q != std::string::npos)
    r.query = r.target.substr(q + 1);
  for (const auto& f : req) {
    std::string name{f.name_string()};
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string{f.value()});
  }
  r.body = std::move(req.body());
  r.remote = std::move(remote);
  r.websocket = boost::beast::websocket::is_upgrade(req);
  return r;
}

} // namespace detail

} // namespace swarm::net
