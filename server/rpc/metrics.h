// ServerMetrics: the figures a running member counts as it goes, for
// /metrics (server/rpc/http_endpoints.h), named and shaped as etcd's
// Prometheus metrics: the WAL's fsync latency, leader changes, and the gRPC
// calls started and handled (grpc_prometheus' names, which etcd uses).
//
// Figures read from the node's status on each scrape (leader, proposals,
// db size) are not here: http_endpoints.cc writes those from Status.
//
// Thread-safe: every method may be called from any thread.
#ifndef ETCDPP_SERVER_RPC_METRICS_H_
#define ETCDPP_SERVER_RPC_METRICS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/strings/string_view.h"

namespace etcdpp::rpc {

// A Prometheus histogram: cumulative buckets by upper bound, sum, count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  // `count` buckets from `start`, each `factor` times the one before.
  static std::vector<double> ExponentialBuckets(double start, double factor,
                                                int count);
  void Observe(double value);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  void WriteText(std::string* out, absl::string_view name,
                 absl::string_view help) const;

 private:
  const std::vector<double> bounds_;
  // Observations per bucket (not cumulative); the last is +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// grpc_server_started_total and grpc_server_handled_total.
class GrpcCallCounters {
 public:
  // `method` as gRPC names it: "/etcdserverpb.KV/Range". `type`: unary,
  // client_stream, server_stream or bidi_stream.
  void Started(absl::string_view method, absl::string_view type);
  // `code`: the gRPC code's name, "OK", "NotFound", ...
  void Handled(absl::string_view method, absl::string_view type,
               absl::string_view code);
  void WriteText(std::string* out) const;

 private:
  mutable std::mutex mu_;
  // (method, type) -> count; (method, type, code) -> count.
  absl::btree_map<std::tuple<std::string, std::string>, uint64_t> started_;
  absl::btree_map<std::tuple<std::string, std::string, std::string>, uint64_t>
      handled_;
};

// One Prometheus sample with its HELP and TYPE lines; `labels` is empty
// or "{name=\"value\",...}".
void WriteGauge(std::string* out, absl::string_view name,
                absl::string_view help, absl::string_view type, double value,
                absl::string_view labels = "");
// The process_* metrics Prometheus' Go client reports, from /proc.
void WriteProcessMetrics(std::string* out);

struct ServerMetrics {
  // etcd_disk_wal_fsync_duration_seconds: etcd's buckets, 1 ms to 8 s.
  Histogram wal_fsync_seconds{Histogram::ExponentialBuckets(0.001, 2, 14)};
  // etcd_server_leader_changes_seen_total.
  std::atomic<uint64_t> leader_changes{0};
  GrpcCallCounters grpc;

  void WriteText(std::string* out) const;
};

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_METRICS_H_
