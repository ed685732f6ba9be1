// Request helpers the DynamoDB backend's parts share.
#pragma once

#include <string>
#include <vector>

#include "dynamodb/dynamo_client.h"

namespace evsrc::dynamo {

// The items of `table` under `keys` (strongly consistent), in any order;
// missing keys are absent from the result. Sends BatchGetItem in chunks of
// 100 keys and asks again for UnprocessedKeys (with backoff) until none are
// left.
Result<std::vector<Json>> batch_get(DynamoClient& client, const std::string& table, const std::vector<Json>& keys);

// Every item a Query returns, following LastEvaluatedKey until `max_items`
// items were collected (0: no limit) or the end. `request` holds the
// TableName, KeyConditionExpression, values, ...
Result<std::vector<Json>> query_items(DynamoClient& client, Json request, std::size_t max_items);

}  // namespace evsrc::dynamo
