// Lookup of the embedded files.
#include "serve/static_files.hpp"

#include "serve/api_server.hpp"

namespace swarm::serve {

std::optional<static_asset> static_file(std::string_view path) {
  if (path == "/")
    path = "/index.html";
  if (!path.starts_with("/"))
    return std::nullopt;
  for (const auto& a : embedded_assets())
    if (a.key == path)
      return a;
  return std::nullopt;
}

std::string_view openapi_document() {
  for (const auto& a : embedded_assets())
    if (a.key == "openapi")
      return a.body;
  return "{}";
}

} // namespace swarm::serve
