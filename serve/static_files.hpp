// Files the server answers from its own binary: the dashboard's (apps/dashboard/) and the
// OpenAPI document (serve/openapi.json), embedded at build time by cmake/EmbedFiles.cmake.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace swarm::serve {

struct static_asset {
  std::string_view key; ///< a dashboard file: its URL path ("/app.js"); else a name ("openapi")
  std::string_view content_type;
  std::string_view body;
};

/// Every embedded file (generated).
std::span<const static_asset> embedded_assets();

/// The dashboard file served at URL path `path` ("/" is "/index.html"); none if there is none.
std::optional<static_asset> static_file(std::string_view path);

} // namespace swarm::serve
