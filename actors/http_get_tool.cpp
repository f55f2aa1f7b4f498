// The http_get tool: the URL and the allow-list are checked here, the GET itself is net/'s
// HTTP client (net/http_fetch.hpp).
#include <cctype>
#include <string>
#include <utility>

#include <boost/json.hpp>

#include "actors/detail/builtin_tool_impl.hpp"
#include "net/http_fetch.hpp"
#include "runtime/core/errc.hpp"

namespace swarm::actors::detail {

namespace json = boost::json;

namespace {

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct parsed_url {
  std::string host;
  std::string port = "80";
  std::string target = "/";
};

caf::expected<parsed_url> parse_url(const std::string& tool, const std::string& url) {
  const std::string scheme = "http://";
  if (lower(url.substr(0, scheme.size())) != scheme)
    return failed(tool, "'" + excerpt(url) + "' is not an http:// URL (only http:// is supported)");
  auto rest = url.substr(scheme.size());
  auto end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, end);
  parsed_url out;
  if (end != std::string::npos) {
    out.target = rest.substr(end);
    if (out.target.front() != '/')
      out.target = "/" + out.target;
    if (auto hash = out.target.find('#'); hash != std::string::npos)
      out.target.resize(hash);
  }
  if (authority.find('@') != std::string::npos || authority.find('[') != std::string::npos)
    return failed(tool, "'" + excerpt(url) + "': user info and IPv6 literals are not supported");
  if (auto colon = authority.find(':'); colon != std::string::npos) {
    out.port = authority.substr(colon + 1);
    authority.resize(colon);
    if (out.port.empty() || out.port.size() > 5 ||
        out.port.find_first_not_of("0123456789") != std::string::npos)
      return failed(tool, "'" + excerpt(url) + "' has a bad port");
  }
  out.host = lower(authority);
  if (out.host.empty())
    return failed(tool, "'" + excerpt(url) + "' has no host");
  for (char c : out.target)
    if (static_cast<unsigned char>(c) <= ' ')
      return failed(tool, "'" + excerpt(url) + "' has spaces or control characters");
  return out;
}

bool host_allowed(const tool_decl& decl, const parsed_url& u) {
  for (const auto& allowed : decl.allow_hosts) {
    auto a = lower(allowed);
    if (a == u.host || a == u.host + ":" + u.port)
      return true;
  }
  return false;
}

} // namespace

caf::expected<std::string> http_get_tool(const tool_context& ctx, const json::object& args) {
  const auto& tool = ctx.decl.name;
  auto url = string_arg(args, tool, "url");
  if (!url)
    return std::move(url.error());
  auto u = parse_url(tool, *url);
  if (!u)
    return std::move(u.error());
  if (!host_allowed(ctx.decl, *u))
    return make_error(errc::tool_refused,
                      tool + ": host '" + u->host + "' is not in this tool's allow_hosts" +
                          (ctx.decl.allow_hosts.empty() ? " (none are allowed)" : ""));
  net::http_fetch_request req;
  req.host = u->host;
  req.port = u->port;
  req.target = u->target;
  req.timeout = ctx.decl.sandbox.timeout;
  req.body_cap = ctx.decl.sandbox.max_output_kb * 1024;
  auto res = net::http_fetch(req);
  if (!res)
    return make_error(static_cast<errc>(res.error().code()),
                      tool + ": " + error_message(res.error()));
  auto body = std::move(res->body);
  if (res->cut)
    body += "\n[... body cut at " + std::to_string(ctx.decl.sandbox.max_output_kb) + " KiB]\n";
  if (res->status >= 400)
    return failed(tool, res->status_line + " from " + *url + "\n" + excerpt(body, 2000));
  // Redirects are not followed (the target may be outside allow_hosts): the model sees where.
  auto location = res->location.empty() || res->status < 300 || res->status >= 400
                      ? std::string{}
                      : "\nLocation: " + res->location;
  return res->status_line + location + "\n\n" + body;
}

} // namespace swarm::actors::detail
