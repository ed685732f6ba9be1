// Fuzz target api_request: structured requests straight into
// server::Api::handle (no HTTP parsing), several per input, against one fresh
// store per input (api_fuzz_support.h: keys of every role).
//
// Input format (text, so seeds are readable and mutations stay meaningful):
//   input    := ["store: file\n"] request ("\n--\n" request)*
//   request  := METHOD " " TARGET "\n" (header "\n")* "\n" body
//   header   := NAME ":" " "? VALUE
//             | "Key: " ("admin" | "writer" | "reader" | "prefixed")
//                 -> Authorization: Bearer <that fixed key>
// "store: file" runs the API over a file: store on an in-memory Env instead of
// memory:. Any bytes are accepted: a missing part is empty.
//
// Asserts (abort on violation), per request: Api::handle does not throw; the
// status is 200..599 and not 5xx; an error body is a JSON object with
// "error" and "message" strings; a JSON success body parses; an event stream
// (subscriptions) yields JSON data lines over a few read_next calls.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "api_fuzz_support.h"

namespace {

constexpr int kMaxRequests = 32;
constexpr std::string_view kSeparator = "\n--\n";
constexpr std::string_view kFileStore = "store: file\n";

// The next line of `text` (without its '\n'), removed from `text`.
std::string_view take_line(std::string_view& text) {
  const std::size_t end = text.find('\n');
  const std::string_view line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return line;
}

evsrc::server::HttpRequest parse_request(std::string_view text) {
  evsrc::server::HttpRequest request;
  std::string_view line = take_line(text);
  const std::size_t space = line.find(' ');
  request.method = std::string(line.substr(0, space));
  if (space != std::string_view::npos) request.target = std::string(line.substr(space + 1));
  while (!text.empty()) {
    line = take_line(text);
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    if (name == "Key") {
      std::string_view key;
      if (value == "admin") key = evsrc::fuzz::kAdminKey;
      if (value == "writer") key = evsrc::fuzz::kWriterKey;
      if (value == "reader") key = evsrc::fuzz::kReaderKey;
      if (value == "prefixed") key = evsrc::fuzz::kPrefixedKey;
      request.headers.add("Authorization", "Bearer " + std::string(key));
    } else {
      request.headers.add(std::string(name), std::string(value));
    }
  }
  request.body = std::string(text);
  request.peer = "127.0.0.1:1";
  return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const bool file_store = input.starts_with(kFileStore);
  if (file_store) input.remove_prefix(kFileStore.size());
  evsrc::fuzz::FuzzApi api(file_store);
  for (int handled = 0; handled < kMaxRequests; ++handled) {
    const std::size_t end = input.find(kSeparator);
    const evsrc::server::HttpRequest request = parse_request(input.substr(0, end));
    evsrc::server::Reply reply;
    try {
      reply = api.api().handle(request);
    } catch (const std::exception& e) {
      evsrc::fuzz::fail(std::string("Api::handle threw: ") + e.what());
    }
    evsrc::fuzz::check_reply(reply, request.method, request.target);
    if (end == std::string_view::npos) break;
    input.remove_prefix(end + kSeparator.size());
  }
  return 0;
}
