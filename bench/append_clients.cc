#include "bench/append_clients.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace evsrc::bench {

Result<WorkloadResult> run_append_clients(std::size_t clients, std::size_t batch, std::size_t event_bytes,
                                          const Budget& budget, const ClientFactory& make_client) {
  std::atomic<std::size_t> ready{0};
  std::atomic<bool> go{false};
  std::mutex mutex;  // guards the three below
  std::vector<double> latencies;
  Status failure;
  std::uint64_t calls = 0;

  Clock::time_point start;
  std::vector<std::thread> threads;
  for (std::size_t client = 0; client < clients; ++client) {
    threads.emplace_back([&, client] {
      std::vector<double> own_latencies;
      Status own_failure;
      Result<AppendCall> call = make_client(client);
      if (!call.ok()) own_failure = call.status();
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      while (own_failure.ok() && budget.time_left(start)) {
        const auto call_start = Clock::now();
        if (Status status = (*call)(); !status.ok()) {
          own_failure = status;
          break;
        }
        own_latencies.push_back(micros_since(call_start));
      }
      std::lock_guard lock(mutex);
      calls += own_latencies.size();
      latencies.insert(latencies.end(), own_latencies.begin(), own_latencies.end());
      if (!own_failure.ok() && failure.ok()) failure = own_failure;
    });
  }
  while (ready.load() < clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  start = Clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread& thread : threads) thread.join();
  WorkloadResult result;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!failure.ok()) return failure;
  result.calls = calls;
  result.events = calls * batch;
  finish_result(result, event_bytes, latencies);
  return result;
}

}  // namespace evsrc::bench
