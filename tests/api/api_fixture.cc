#include "api/api_fixture.h"

#include <stdlib.h>

#include <filesystem>
#include <sstream>

namespace evsrc_api_test {

std::string Response::error() const {
  if (!json.is_object()) return "";
  const auto it = json.find("error");
  return it != json.end() && it->is_string() ? it->get<std::string>() : "";
}

void PrintTo(const Response& response, std::ostream* out) {
  *out << response.status << " " << response.body.substr(0, 2000);
}

std::vector<SseFrame> parse_sse_frames(std::string_view text) {
  std::vector<SseFrame> frames;
  while (!text.empty()) {
    const std::size_t end = text.find("\n\n");
    const std::string_view block = text.substr(0, end);
    SseFrame frame;
    std::string_view rest = block;
    while (!rest.empty()) {
      const std::size_t newline = rest.find('\n');
      const std::string_view line = rest.substr(0, newline);
      if (line.starts_with("id: ")) frame.id = line.substr(4);
      if (line.starts_with("event: ")) frame.event = line.substr(7);
      if (line.starts_with("data: ")) frame.data = line.substr(6);
      rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    }
    frames.push_back(std::move(frame));
    if (end == std::string_view::npos) break;
    text = text.substr(end + 2);
  }
  return frames;
}

void ApiTest::SetUp() {
  char pattern[] = "/tmp/evsrc-api-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  directory_ = pattern;
  StoreOptions options;
  options.sync = false;  // durability is not what these tests are about
  Result<std::unique_ptr<EventStore>> opened =
      open_store(GetParam() == "memory" ? "memory:" : "file:" + directory_ + "/store", options);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  store_ = std::move(opened).value();
  metrics_ = std::make_unique<ServerMetrics>();
  rebuild_api(ApiContext{});
}

void ApiTest::TearDown() {
  api_.reset();
  if (store_) (void)store_->close();
  store_.reset();
  std::error_code error;
  if (!directory_.empty()) std::filesystem::remove_all(directory_, error);
}

void ApiTest::rebuild_api(ApiContext context) {
  context.store = store_.get();
  context.metrics = metrics_.get();
  context.projections = [this] { return projections_; };
  api_ = std::make_unique<Api>(std::move(context));
}

Response ApiTest::call(std::string method, std::string target, std::string body, const Headers& headers) {
  HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  for (const auto& [name, value] : headers) request.headers.add(name, value);
  request.peer = "127.0.0.1:1";
  Reply reply = api_->handle(request);
  Response response;
  response.status = reply.response.status;
  response.headers = std::move(reply.response.headers);
  response.body = std::move(reply.response.body);
  response.json = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  response.feed = std::move(reply.sse);
  return response;
}

AppendResult ApiTest::seed(const std::string& stream, std::size_t count, const std::string& type) {
  std::vector<EventData> events;
  for (std::size_t i = 0; i < count; ++i) {
    EventData event;
    event.id = Uuid::random();
    event.type = type;
    event.data = "{\"n\":" + std::to_string(i) + "}";
    events.push_back(std::move(event));
  }
  Result<AppendResult> result = store_->append(stream, ExpectedRevision::any(), events);
  EXPECT_TRUE(result.ok()) << result.status().to_string();
  return result.ok() ? *result : AppendResult{};
}

std::string ApiTest::fingerprint() {
  std::ostringstream out;
  Result<StoreStats> stats = store_->stats();
  if (!stats.ok()) return "stats failed: " + stats.status().to_string();
  out << "events=" << stats->events << " streams=" << stats->streams << " bytes=" << stats->bytes
      << " last=" << (stats->last_position ? std::to_string(*stats->last_position) : "none") << "\n";
  AllReadOptions options;
  options.limit = 1000;
  for (;;) {
    Result<AllPage> page = store_->read_all(options);
    if (!page.ok()) return "read_all failed: " + page.status().to_string();
    for (const RecordedEvent& event : page->events) {
      out << event.position << " " << event.stream << "@" << event.revision << " " << event.id.to_string() << " "
          << event.type << " " << event.data << " " << event.metadata << "\n";
    }
    if (!page->next) break;
    options.from = page->next;
  }
  Result<std::vector<std::string>> names = store_->list_streams("", "", 100000);
  if (!names.ok()) return "list_streams failed: " + names.status().to_string();
  for (const std::string& name : *names) {
    Result<StreamInfo> info = store_->stream_info(name);
    if (!info.ok()) return "stream_info failed: " + info.status().to_string();
    out << "stream " << name << " last=" << (info->last_revision ? std::to_string(*info->last_revision) : "none")
        << " deleted=" << info->soft_deleted << " tombstoned=" << info->tombstoned
        << " maxCount=" << info->metadata.max_count.value_or(0) << " custom=" << info->metadata.custom << "\n";
  }
  return out.str();
}

std::vector<SseFrame> ApiTest::drain(SseFeed& feed, std::size_t batch) {
  std::string out;
  for (int round = 0; round < 100000; ++round) {
    Result<std::size_t> read = feed.read_next(out, batch);
    EXPECT_TRUE(read.ok()) << read.status().to_string();
    if (!read.ok() || (*read == 0 && !feed.behind())) break;
  }
  return parse_sse_frames(out);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiTest, ::testing::Values("memory", "file"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace evsrc_api_test
