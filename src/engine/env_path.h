// Lexical path helpers shared by the in-memory and fault-injecting Envs.
// Purely textual: no file system is consulted, symbolic links are unknown.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace evsrc {

// Normal form: no empty or "." components, ".." resolved where possible, no
// trailing '/'. "/" stays "/"; a relative path naming the working directory
// becomes "". Two spellings of one path normalize to the same string.
inline std::string normalize_path(std::string_view path) {
  const bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == ".." && !parts.empty() && parts.back() != "..") {
      parts.pop_back();
      continue;
    }
    if (part == ".." && absolute) continue;  // "/.." is "/"
    parts.push_back(part);
  }
  std::string out = absolute ? "/" : "";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out;
}

// True for "/" and "" (the roots of absolute and relative paths).
inline bool is_root_path(std::string_view normalized) { return normalized.empty() || normalized == "/"; }

// The directory holding a normalized path; a root is its own parent.
inline std::string parent_path(std::string_view normalized) {
  const std::size_t slash = normalized.rfind('/');
  if (slash == std::string_view::npos) return "";
  if (slash == 0) return "/";
  return std::string(normalized.substr(0, slash));
}

}  // namespace evsrc
