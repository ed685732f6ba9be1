// The compact JSON text evsrc's writers produce (the server's append_json,
// nlohmann's dump() in the CLI and the remote client: the same bytes for
// the same value), recognised without building a value. The server copies
// stored documents already in this form into responses; the remote client
// takes embedded documents in this form from a response as they are.
#pragma once

#include <cstddef>
#include <string_view>

namespace evsrc {

// Nesting the check follows; deeper documents are "not sure" (false).
inline constexpr std::size_t kCanonicalJsonMaxDepth = 512;

// True when `text` is a JSON document other than a bare string, exactly in
// the compact form a parse and a compact serialisation give back unchanged.
// False may also mean "not sure" (doubles, integers of 19 digits or more,
// duplicate keys, ...): the caller then parses.
bool is_canonical_json(std::string_view text);

// Length of the well-formed UTF-8 sequence starting at `i` of `text`, or 0
// when the byte there starts none; `invalid_at` receives the offset of the
// first byte that breaks it (1.. for a bad continuation, the remaining
// length for a sequence cut short by the end).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i, std::size_t& invalid_at);

}  // namespace evsrc
