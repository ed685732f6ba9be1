// EventView's copies, and the default cursors of every EventStore: pages of
// owned events from read_all / read_stream underneath, shown as views.
// Backends whose reads can lend their own bytes (the embedded engine)
// override open_*_cursor.
#include <algorithm>
#include <chrono>
#include <thread>

#include "core/read_paging.h"
#include "evsrc/event_store.h"

namespace evsrc {
namespace {

// Events fetched per page underneath: large enough that the page calls cost
// little per event, small enough to bound the memory of a cursor.
constexpr std::uint64_t kCursorPage = 1000;
// How long a cursor waits, in growing pauses, for a page that comes back
// empty without moving before it ends there.
constexpr std::chrono::milliseconds kStallBudget{2000};

// Reads pages with read_page(limit) from options_.from and hands out their
// events one by one.
// `Page` is AllPage or StreamPage; `Options` the matching read options.
template <typename Page, typename Options, typename Base>
class PagedCursor : public Base {
 public:
  PagedCursor(Options options, Page first) : options_(std::move(options)), page_(std::move(first)) {}

  Result<const EventView*> next() final {
    if (!failure_.ok()) return failure_;
    while (index_ == page_.events.size()) {
      if (done_ || taken_ == options_.limit || !page_.next) {
        done_ = true;
        resume_ = page_.next;
        return static_cast<const EventView*>(nullptr);
      }
      options_.from = page_.next;
      Result<Page> page = read_page(std::min(options_.limit - taken_, kCursorPage));
      if (!page.ok()) {
        failure_ = page.status();
        return failure_;
      }
      const bool stalled = page->events.empty() && page->next == options_.from;
      page_ = std::move(page).value();
      index_ = 0;
      if (scan_exhausted(options_.from, std::min(options_.limit - taken_, kCursorPage))) done_ = true;
      if (!stalled) {
        stalled_for_ = std::chrono::milliseconds(0);
      } else if (stalled_for_ >= kStallBudget) {
        // Still no progress: the cursor ends there (resume_from() says where).
        done_ = true;
      } else {
        // An empty page that did not move (DynamoDB may answer so at a
        // position not yet visible): read it again after a pause that
        // doubles, rather than at once.
        const auto pause = std::clamp(stalled_for_, std::chrono::milliseconds(1), std::chrono::milliseconds(100));
        std::this_thread::sleep_for(pause);
        stalled_for_ += pause;
      }
    }
    if (const std::optional<std::uint64_t> at = past_opening(page_.events[index_])) {
      // A later page reached what was committed after the cursor was opened:
      // the cursor ends there, and a following read starts there.
      page_.events.clear();
      page_.next = at;
      index_ = 0;
      done_ = true;
      return next();
    }
    // Pages are read with at most the events left to the limit, so the
    // limit is only ever reached at the end of a page, whose `next` is then
    // where a following read starts.
    view_ = EventView::of(page_.events[index_++]);
    ++taken_;
    return static_cast<const EventView*>(&view_);
  }

  std::optional<std::uint64_t> resume_from() const final { return resume_; }

 protected:
  virtual Result<Page> read_page(std::uint64_t limit) = 0;
  // The event's position (revision) when it was committed after the cursor
  // was opened: cursors never read past what was committed then.
  virtual std::optional<std::uint64_t> past_opening(const RecordedEvent& event) const = 0;
  // After page_ was read from `page_from` with `asked` events: true when it
  // used up what the cursor may examine (AllReadOptions::scan_limit bounds
  // the whole cursor), so the cursor ends after its events.
  virtual bool scan_exhausted(std::optional<std::uint64_t> page_from, std::uint64_t asked) {
    (void)page_from;
    (void)asked;
    return false;
  }
  // For constructors: the first page, read before the cursor was made.
  void check_first_page(std::uint64_t asked) {
    if (scan_exhausted(options_.from, asked)) done_ = true;
  }

  Options options_;
  Page page_;

 private:
  std::size_t index_ = 0;
  std::uint64_t taken_ = 0;
  bool done_ = false;
  std::optional<std::uint64_t> resume_;
  std::chrono::milliseconds stalled_for_{0};  // waited so far for a page that does not move
  EventView view_;
  Status failure_;
};

class PagedAllCursor final : public PagedCursor<AllPage, AllReadOptions, EventCursor> {
 public:
  // `end`: the last position committed at opening (forward cursors).
  PagedAllCursor(EventStore& store, AllReadOptions options, AllPage first, std::optional<Position> end)
      : PagedCursor(std::move(options), std::move(first)), store_(store), end_(end),
        scan_left_(options_.scan_limit) {
    check_first_page(std::min(options_.limit, kCursorPage));
  }

 private:
  // The positions each page walked count against the cursor's scan_limit;
  // the pages after the first get what is left of it.
  bool scan_exhausted(std::optional<std::uint64_t> page_from, std::uint64_t asked) override {
    if (scan_left_ == 0 || !page_.next) return false;
    // Short of what was asked with more to read: the page's window ended.
    if (page_.events.size() < asked) return true;
    const bool forward = options_.direction == Direction::forward;
    // From its first event when the page started at the head (at most one
    // window goes uncounted).
    const std::uint64_t start = page_from.value_or(forward ? 0 : page_.events.front().position);
    const std::uint64_t walked = forward ? *page_.next - start : start - *page_.next;
    if (walked >= scan_left_) return true;
    scan_left_ -= walked;
    options_.scan_limit = scan_left_;
    return false;
  }

  std::optional<std::uint64_t> past_opening(const RecordedEvent& event) const override {
    if (options_.direction != Direction::forward || (end_ && event.position <= *end_)) return std::nullopt;
    return event.position;
  }

  Result<AllPage> read_page(std::uint64_t limit) override {
    AllReadOptions options = options_;
    options.limit = limit;
    return store_.read_all(options);
  }

  EventStore& store_;
  const std::optional<Position> end_;
  std::uint64_t scan_left_;  // positions the cursor may still examine (0: no bound)
};

class PagedStreamCursor final : public PagedCursor<StreamPage, StreamReadOptions, StreamCursor> {
 public:
  PagedStreamCursor(EventStore& store, std::string stream, StreamReadOptions options, StreamPage first)
      : PagedCursor(std::move(options), std::move(first)), store_(store), stream_(std::move(stream)) {
    last_revision_ = page_.last_revision;
  }

  StreamRevision last_revision() const override { return last_revision_; }

 private:
  // The first page's head is the stream's head at opening.
  std::optional<std::uint64_t> past_opening(const RecordedEvent& event) const override {
    if (options_.direction != Direction::forward || event.revision <= last_revision_) return std::nullopt;
    return event.revision;
  }

  Result<StreamPage> read_page(std::uint64_t limit) override {
    StreamReadOptions options = options_;
    options.limit = limit;
    return store_.read_stream(stream_, options);
  }

  EventStore& store_;
  const std::string stream_;
  StreamRevision last_revision_ = 0;
};

}  // namespace

RecordedEvent EventView::to_recorded_event() const {
  return RecordedEvent{std::string(stream),
                       revision,
                       position,
                       recorded_at,
                       id,
                       std::string(type),
                       std::string(data),
                       std::string(metadata),
                       std::string(content_type)};
}

void EventView::copy_to(RecordedEvent& out) const {
  out.stream.assign(stream);
  out.revision = revision;
  out.position = position;
  out.recorded_at = recorded_at;
  out.id = id;
  out.type.assign(type);
  out.data.assign(data);
  out.metadata.assign(metadata);
  out.content_type.assign(content_type);
}

EventView EventView::of(const RecordedEvent& event) {
  return EventView{event.stream, event.revision, event.position, event.recorded_at, event.id,
                   event.type,   event.data,     event.metadata, event.content_type};
}

Result<std::unique_ptr<EventCursor>> EventStore::open_all_cursor(const AllReadOptions& options) {
  if (Status status = check_page_limit(options.limit); !status.ok()) return status;
  // A forward cursor ends at the last event committed when it was opened,
  // whatever its pages find later (the head is read before the first page,
  // so anything newer in it is cut too).
  std::optional<Position> end;
  if (options.direction == Direction::forward) {
    AllReadOptions last;
    last.direction = Direction::backward;
    last.limit = 1;
    Result<AllPage> head = read_all(last);
    if (!head.ok()) return head.status();
    if (!head->events.empty()) end = head->events.front().position;
  }
  AllReadOptions first = options;
  first.limit = std::min(options.limit, kCursorPage);
  Result<AllPage> page = read_all(first);
  if (!page.ok()) return page.status();
  return std::unique_ptr<EventCursor>(std::make_unique<PagedAllCursor>(*this, options, std::move(page).value(), end));
}

Result<std::unique_ptr<StreamCursor>> EventStore::open_stream_cursor(std::string_view stream,
                                                                     const StreamReadOptions& options) {
  if (Status status = check_page_limit(options.limit); !status.ok()) return status;
  StreamReadOptions first = options;
  first.limit = std::min(options.limit, kCursorPage);
  Result<StreamPage> page = read_stream(stream, first);
  if (!page.ok()) return page.status();
  return std::unique_ptr<StreamCursor>(
      std::make_unique<PagedStreamCursor>(*this, std::string(stream), options, std::move(page).value()));
}

}  // namespace evsrc
