// Borrowing reads: cursors over $all and over one stream that show each event
// as views of the bytes the store read, instead of an owned RecordedEvent
// with five heap strings per event. EventStore::open_all_cursor() and
// open_stream_cursor() return them; read_all() and read_stream() are pages of
// the same events with the same options.
//
// A cursor reads what was committed when it was opened and never past it;
// forward cursors read on to that end, backward ones to the beginning, each
// at most `limit` events (kNoLimit: all of them). On the embedded engine every
// record's checksum is verified as the cursor reaches it.
//
//   auto cursor = store.open_all_cursor(options);
//   if (!cursor.ok()) return cursor.status();
//   while (true) {
//     Result<const EventView*> event = (*cursor)->next();
//     if (!event.ok()) return event.status();
//     if (*event == nullptr) break;          // end of the read
//     fold(state, **event);                  // views valid until next()
//   }
//
// Thread-safety: a cursor is used by one thread at a time. It holds no lock
// of the store: writers go on while it reads. It must not outlive its store.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "evsrc/status.h"
#include "evsrc/types.h"

namespace evsrc {

// A limit meaning "no limit": a cursor with it reads to the end.
inline constexpr std::uint64_t kNoLimit = UINT64_MAX;

// An event as a cursor shows it: RecordedEvent's fields, borrowed. Every view
// is valid until the next call of the cursor's next() or its destruction.
struct EventView {
  std::string_view stream;
  StreamRevision revision = 0;
  Position position = 0;
  Timestamp recorded_at{};
  Uuid id;
  std::string_view type;
  std::string_view data;
  std::string_view metadata;
  std::string_view content_type;

  // An owned copy, to keep the event past the cursor's next step.
  RecordedEvent to_recorded_event() const;
  // The same copy into an existing event, reusing its strings' capacity (a
  // reader that copies into the same events again allocates nothing once
  // they are large enough).
  void copy_to(RecordedEvent& out) const;
  // Views of `event`'s fields (valid while `event` is).
  static EventView of(const RecordedEvent& event);
};

class EventCursor {
 public:
  virtual ~EventCursor() = default;
  EventCursor(const EventCursor&) = delete;
  EventCursor& operator=(const EventCursor&) = delete;

  // The next event, or nullptr at the end of the read (limit reached, end or
  // beginning of what was committed at opening). Errors (io_error,
  // corruption with file and offset, closed) end the cursor: later calls
  // return the same error.
  virtual Result<const EventView*> next() = 0;

  // After next() returned nullptr: the `from` of a read that continues where
  // this one stopped (a position for $all cursors, a revision for stream
  // cursors), as a page's `next`; nullopt when the read reached the end
  // (forward) or the beginning (backward).
  virtual std::optional<std::uint64_t> resume_from() const = 0;

 protected:
  EventCursor() = default;
};

// A cursor over one stream's readable events.
class StreamCursor : public EventCursor {
 public:
  // The stream's last revision when the cursor was opened (hidden events
  // included), as StreamPage::last_revision.
  virtual StreamRevision last_revision() const = 0;
};

}  // namespace evsrc
