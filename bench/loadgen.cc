// loadgen: a closed-loop load generator for any etcd v3 endpoint (etcdpp or
// etcd itself), so the two can be compared on the same machine under the
// same load.
//
//   bazel run -c opt //bench:loadgen -- --endpoints=127.0.0.1:2379
//       --op=put --conns=10 --clients=200 --total=100000
//
// --clients requests are kept in flight at once over --conns gRPC channels
// (grpc++'s callback API: no thread per request); each completion sends the
// next request until --total requests were sent or --seconds passed. Keys
// are drawn from --key-space keys of --key-size bytes (sequential with
// --seq-keys), values are --val-size bytes. It prints, like etcd's
// `benchmark` tool: requests/s, latency average/stddev/min/max and
// percentiles, and the count of errors by message.
//
// Operations: put, range (one key, --consistency=l|s), txn-put (a txn with
// one compare on the key's version and one put), mixed (--put-ratio of
// puts, the rest linearizable ranges).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, endpoints, "127.0.0.1:2379",
          "Comma-separated host:port list; channels are spread over them.");
ABSL_FLAG(std::string, op, "put", "put, range, txn-put or mixed.");
ABSL_FLAG(int, conns, 10, "gRPC channels (TCP connections).");
ABSL_FLAG(int, clients, 100, "Requests kept in flight at once.");
ABSL_FLAG(int64_t, total, 10000, "Requests to send (0: until --seconds).");
ABSL_FLAG(double, seconds, 0, "Stop after this long (0: until --total).");
ABSL_FLAG(int, key_size, 8, "Key size in bytes.");
ABSL_FLAG(int, val_size, 256, "Value size in bytes.");
ABSL_FLAG(int64_t, key_space, 100000, "Distinct keys.");
ABSL_FLAG(bool, seq_keys, false, "Keys in sequence instead of at random.");
ABSL_FLAG(std::string, consistency, "l", "Range consistency: l or s.");
ABSL_FLAG(double, put_ratio, 0.5, "mixed: the share of puts.");
ABSL_FLAG(int64_t, seed, 1, "Seeds the key choice.");

namespace etcdpp::bench {
namespace {

enum class Op { kPut, kRange, kTxnPut, kMixed };

struct Config {
  Op op = Op::kPut;
  int clients = 0;
  int64_t total = 0;
  absl::Duration duration;
  int key_size = 0;
  std::string value;
  int64_t key_space = 0;
  bool seq_keys = false;
  bool serializable = false;
  double put_ratio = 0;
};

// Shared by every in-flight request.
class Run {
 public:
  Run(Config config,
      std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs,
      uint64_t seed)
      : config_(std::move(config)), stubs_(std::move(stubs)), rng_(seed) {}

  void Start() {
    start_ = absl::Now();
    deadline_ = config_.duration > absl::ZeroDuration()
                    ? start_ + config_.duration
                    : absl::InfiniteFuture();
    for (int i = 0; i < config_.clients; ++i) {
      in_flight_.fetch_add(1);
      Next(i);
    }
  }

  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return in_flight_.load() == 0; });
    end_ = absl::Now();
  }

  void Report() const;

 private:
  struct Call {
    grpc::ClientContext context;
    etcdserverpb::PutRequest put;
    etcdserverpb::PutResponse put_response;
    etcdserverpb::RangeRequest range;
    etcdserverpb::RangeResponse range_response;
    etcdserverpb::TxnRequest txn;
    etcdserverpb::TxnResponse txn_response;
    absl::Time sent;
  };

  std::string Key() {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t n = config_.seq_keys
                    ? next_key_++ % config_.key_space
                    : std::uniform_int_distribution<int64_t>(
                          0, config_.key_space - 1)(rng_);
    std::string key = absl::StrFormat("%0*d", config_.key_size, n);
    if (static_cast<int>(key.size()) > config_.key_size) {
      key = key.substr(key.size() - config_.key_size);
    }
    return key;
  }

  bool PickPut() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::uniform_real_distribution<double>(0, 1)(rng_) <
           config_.put_ratio;
  }

  // Sends the next request on slot `client`, or retires the slot.
  void Next(int client) {
    const int64_t n = sent_.fetch_add(1);
    if ((config_.total > 0 && n >= config_.total) ||
        absl::Now() >= deadline_) {
      if (in_flight_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lock(mu_);
        done_cv_.notify_all();
      }
      return;
    }
    etcdserverpb::KV::Stub* stub =
        stubs_[static_cast<size_t>(client) % stubs_.size()].get();
    auto* call = new Call();
    call->sent = absl::Now();
    auto finish = [this, call, client](grpc::Status status) {
      Record(absl::Now() - call->sent, status);
      delete call;
      Next(client);
    };
    Op op = config_.op;
    if (op == Op::kMixed) op = PickPut() ? Op::kPut : Op::kRange;
    switch (op) {
      case Op::kPut:
        call->put.set_key(Key());
        call->put.set_value(config_.value);
        stub->async()->Put(&call->context, &call->put, &call->put_response,
                           finish);
        break;
      case Op::kRange:
        call->range.set_key(Key());
        call->range.set_serializable(config_.serializable);
        stub->async()->Range(&call->context, &call->range,
                             &call->range_response, finish);
        break;
      case Op::kTxnPut: {
        const std::string key = Key();
        etcdserverpb::Compare* c = call->txn.add_compare();
        c->set_key(key);
        c->set_target(etcdserverpb::Compare::VERSION);
        c->set_result(etcdserverpb::Compare::GREATER);
        c->set_version(-1);
        etcdserverpb::PutRequest* p =
            call->txn.add_success()->mutable_request_put();
        p->set_key(key);
        p->set_value(config_.value);
        stub->async()->Txn(&call->context, &call->txn, &call->txn_response,
                           finish);
        break;
      }
      case Op::kMixed:
        break;
    }
  }

  void Record(absl::Duration latency, const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (status.ok()) {
      latencies_us_.push_back(absl::ToDoubleMicroseconds(latency));
    } else {
      ++errors_[status.error_message()];
    }
  }

  const Config config_;
  const std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs_;
  std::atomic<int64_t> sent_{0};
  std::atomic<int> in_flight_{0};
  absl::Time start_;
  absl::Time end_;
  absl::Time deadline_;

  mutable std::mutex mu_;
  std::condition_variable done_cv_;
  std::mt19937_64 rng_;          // guarded by mu_
  int64_t next_key_ = 0;         // guarded by mu_
  std::vector<double> latencies_us_;  // guarded by mu_
  std::map<std::string, int64_t> errors_;  // guarded by mu_
};

void Run::Report() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<double> l = latencies_us_;
  std::sort(l.begin(), l.end());
  const double secs = absl::ToDoubleSeconds(end_ - start_);
  std::printf("Summary:\n");
  std::printf("  Total:\t%.4f secs.\n", secs);
  if (!l.empty()) {
    double sum = 0;
    for (double x : l) sum += x;
    const double mean = sum / l.size();
    double var = 0;
    for (double x : l) var += (x - mean) * (x - mean);
    std::printf("  Slowest:\t%.4f secs.\n", l.back() / 1e6);
    std::printf("  Fastest:\t%.4f secs.\n", l.front() / 1e6);
    std::printf("  Average:\t%.4f secs.\n", mean / 1e6);
    std::printf("  Stddev:\t%.4f secs.\n", std::sqrt(var / l.size()) / 1e6);
    std::printf("  Requests/sec:\t%.1f\n", l.size() / secs);
    std::printf("\nLatency distribution:\n");
    for (double p : {10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9}) {
      const size_t i = std::min(
          l.size() - 1, static_cast<size_t>(std::ceil(p / 100 * l.size())) -
                            (p > 0 ? 1 : 0));
      std::printf("  %g%% in %.4f secs.\n", p, l[i] / 1e6);
    }
  }
  std::printf("\n  ok=%zu errors=%lld\n", l.size(),
              static_cast<long long>([this] {
                int64_t n = 0;
                for (const auto& [m, c] : errors_) n += c;
                return n;
              }()));
  for (const auto& [message, count] : errors_) {
    std::printf("  error x%lld: %s\n", static_cast<long long>(count),
                message.c_str());
  }
}

int Main() {
  Config config;
  const std::string op = absl::GetFlag(FLAGS_op);
  if (op == "put") {
    config.op = Op::kPut;
  } else if (op == "range") {
    config.op = Op::kRange;
  } else if (op == "txn-put") {
    config.op = Op::kTxnPut;
  } else if (op == "mixed") {
    config.op = Op::kMixed;
  } else {
    std::fprintf(stderr, "loadgen: --op=%s: want put, range, txn-put or mixed\n",
                 op.c_str());
    return 1;
  }
  config.clients = absl::GetFlag(FLAGS_clients);
  config.total = absl::GetFlag(FLAGS_total);
  config.duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  config.key_size = absl::GetFlag(FLAGS_key_size);
  config.value = std::string(absl::GetFlag(FLAGS_val_size), 'v');
  config.key_space = absl::GetFlag(FLAGS_key_space);
  config.seq_keys = absl::GetFlag(FLAGS_seq_keys);
  config.serializable = absl::GetFlag(FLAGS_consistency) == "s";
  config.put_ratio = absl::GetFlag(FLAGS_put_ratio);
  const int conns = absl::GetFlag(FLAGS_conns);
  if (config.clients <= 0 || conns <= 0 || config.key_size <= 0 ||
      config.key_space <= 0 || (config.total <= 0 &&
                                config.duration <= absl::ZeroDuration())) {
    std::fprintf(stderr,
                 "loadgen: --clients, --conns, --key-size and --key-space "
                 "must be positive, and one of --total and --seconds\n");
    return 1;
  }
  std::vector<std::string> endpoints =
      absl::StrSplit(absl::GetFlag(FLAGS_endpoints), ',', absl::SkipEmpty());
  if (endpoints.empty()) {
    std::fprintf(stderr, "loadgen: --endpoints is empty\n");
    return 1;
  }
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs;
  for (int i = 0; i < conns; ++i) {
    grpc::ChannelArguments args;
    // Distinct channels get distinct TCP connections.
    args.SetInt("loadgen.channel", i);
    stubs.push_back(etcdserverpb::KV::NewStub(grpc::CreateCustomChannel(
        endpoints[static_cast<size_t>(i) % endpoints.size()],
        grpc::InsecureChannelCredentials(), args)));
  }
  Run run(config, std::move(stubs),
          static_cast<uint64_t>(absl::GetFlag(FLAGS_seed)));
  run.Start();
  run.Wait();
  run.Report();
  return 0;
}

}  // namespace
}  // namespace etcdpp::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "loadgen --endpoints=host:port[,...] --op=put|range|txn-put|mixed "
      "[--conns=N --clients=N --total=N|--seconds=S ...]");
  absl::ParseCommandLine(argc, argv);
  return etcdpp::bench::Main();
}
