#include "dynamodb/dynamo_requests.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace evsrc::dynamo {

Result<std::vector<Json>> batch_get(DynamoClient& client, const std::string& table, const std::vector<Json>& keys) {
  std::vector<Json> items;
  for (std::size_t begin = 0; begin < keys.size(); begin += 100) {
    Json pending = Json::array();
    for (std::size_t i = begin; i < std::min(keys.size(), begin + 100); ++i) pending.push_back(keys[i]);
    for (int round = 0; !pending.empty(); ++round) {
      if (round > 0) std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5 << round, 500)));
      if (round > 30) return Status::timeout("dynamodb: BatchGetItem on " + table + " kept returning unprocessed keys");
      Result<Json> response = client.call(
          "BatchGetItem", Json{{"RequestItems", {{table, {{"Keys", pending}, {"ConsistentRead", true}}}}}});
      if (!response.ok()) return response.status();
      const Json* found = nullptr;
      if (auto responses = response->find("Responses"); responses != response->end()) {
        if (auto of_table = responses->find(table); of_table != responses->end()) found = &*of_table;
      }
      if (found != nullptr && found->is_array()) {
        for (const Json& item : *found) items.push_back(item);
      }
      pending = Json::array();
      if (auto unprocessed = response->find("UnprocessedKeys"); unprocessed != response->end()) {
        if (auto of_table = unprocessed->find(table); of_table != unprocessed->end() && of_table->contains("Keys")) {
          pending = (*of_table)["Keys"];
        }
      }
    }
  }
  return items;
}

Result<std::vector<Json>> query_items(DynamoClient& client, Json request, std::size_t max_items) {
  std::vector<Json> items;
  while (true) {
    if (max_items != 0) request["Limit"] = std::min<std::size_t>(max_items - items.size(), 1000);
    Result<Json> response = client.call("Query", request);
    if (!response.ok()) return response.status();
    if (auto found = response->find("Items"); found != response->end() && found->is_array()) {
      for (Json& item : *found) items.push_back(std::move(item));
    }
    const auto last = response->find("LastEvaluatedKey");
    if (last == response->end() || last->is_null() || (max_items != 0 && items.size() >= max_items)) break;
    request["ExclusiveStartKey"] = *last;
  }
  return items;
}

}  // namespace evsrc::dynamo
