#include "directory/username_registry.h"

#include <string>
#include <utility>
#include <variant>

#include "directory/events.h"

namespace evsrc::directory {
namespace {

Result<TransactionPart> part_with(std::string_view username, ExpectedRevision expected, const UsernameEvent& event,
                                  std::string_view actor) {
  Result<EventData> encoded = username_codec().encode(event, actor_metadata(actor));
  if (!encoded.ok()) return encoded.status();
  TransactionPart part{username_stream(username), expected, {}};
  part.events.push_back(std::move(encoded).value());
  return part;
}

}  // namespace

Result<UsernameHolder> username_holder(EventStore& store, std::string_view username) {
  StreamReadOptions last_event;
  last_event.direction = Direction::backward;
  last_event.limit = 1;
  Result<StreamPage> page = store.read_stream(username_stream(username), last_event);
  if (!page.ok()) {
    if (page.status().code() == ErrorCode::not_found) return UsernameHolder{};
    return page.status();
  }
  UsernameHolder holder;
  if (page->events.empty()) return holder;
  const RecordedEvent& last = page->events.front();
  holder.last_revision = last.revision;
  Result<UsernameEvent> event = username_codec().decode(last);
  if (!event.ok()) return event.status();
  if (const auto* claimed = std::get_if<UsernameClaimed>(&*event)) holder.user_id = claimed->userId;
  return holder;
}

Result<TransactionPart> claim_username(EventStore& store, std::string_view username, std::string_view user_id,
                                       std::string_view actor) {
  Result<UsernameHolder> holder = username_holder(store, username);
  if (!holder.ok()) return holder.status();
  if (holder->user_id && *holder->user_id == user_id) {
    // The caller decided on a stale state of its user (a concurrent command
    // already claimed the name for it): reload and decide again.
    return Status::wrong_expected_revision(holder->last_revision,
                                           "username " + std::string(username) + " was claimed meanwhile");
  }
  if (holder->user_id) return Status::rejected("username " + std::string(username) + " is taken");
  const ExpectedRevision expected =
      holder->last_revision ? ExpectedRevision::exact(*holder->last_revision) : ExpectedRevision::no_stream();
  return part_with(username, expected, UsernameClaimed{std::string(user_id)}, actor);
}

Result<TransactionPart> release_username(EventStore& store, std::string_view username, std::string_view user_id,
                                         std::string_view actor) {
  Result<UsernameHolder> holder = username_holder(store, username);
  if (!holder.ok()) return holder.status();
  if (!holder->user_id || *holder->user_id != user_id || !holder->last_revision) {
    // The caller decided on a stale state of its user (a concurrent command
    // changed its username meanwhile): reload and decide again.
    return Status::wrong_expected_revision(
        holder->last_revision,
        "username " + std::string(username) + " is no longer held by user " + std::string(user_id));
  }
  return part_with(username, ExpectedRevision::exact(*holder->last_revision), UsernameReleased{std::string(user_id)},
                   actor);
}

}  // namespace evsrc::directory
