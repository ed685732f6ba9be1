// The web console's static files (console/ in the source tree), compiled into
// the server by cmake/embed_console.cmake and served at /console/<name>.
#pragma once

#include <span>
#include <string_view>

namespace evsrc::server {

struct ConsoleAsset {
  std::string_view name;          // "index.html", "app.js", ...
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view bytes;
};

std::span<const ConsoleAsset> console_assets();

}  // namespace evsrc::server
