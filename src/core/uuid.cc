#include "evsrc/uuid.h"

#include <uuid/uuid.h>

#include <algorithm>

namespace evsrc {

bool Uuid::is_nil() const {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

std::string Uuid::to_string() const {
  char text[37];
  uuid_unparse_lower(bytes.data(), text);
  return std::string(text, 36);
}

std::optional<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  char buffer[37];
  std::copy(text.begin(), text.end(), buffer);
  buffer[36] = '\0';
  Uuid uuid;
  if (uuid_parse(buffer, uuid.bytes.data()) != 0) return std::nullopt;
  return uuid;
}

Uuid Uuid::random() {
  Uuid uuid;
  uuid_generate_random(uuid.bytes.data());
  return uuid;
}

}  // namespace evsrc
