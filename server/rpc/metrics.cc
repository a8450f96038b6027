#include "server/rpc/metrics.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace etcdpp::rpc {
namespace {

// A method "/package.Service/Method" as grpc_prometheus labels it.
std::pair<absl::string_view, absl::string_view> SplitMethod(
    absl::string_view method) {
  if (!method.empty() && method[0] == '/') method.remove_prefix(1);
  const size_t slash = method.find('/');
  if (slash == absl::string_view::npos) return {"unknown", method};
  return {method.substr(0, slash), method.substr(slash + 1)};
}

std::string CallLabels(absl::string_view method, absl::string_view type) {
  const auto [service, name] = SplitMethod(method);
  return absl::StrCat("grpc_method=\"", name, "\",grpc_service=\"", service,
                      "\",grpc_type=\"", type, "\"");
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

std::vector<double> Histogram::ExponentialBuckets(double start, double factor,
                                                  int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i, start *= factor) out.push_back(start);
  return out;
}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

void Histogram::WriteText(std::string* out, absl::string_view name,
                          absl::string_view help) const {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name,
                  " histogram\n");
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const std::string le =
        i < bounds_.size() ? absl::StrCat(bounds_[i]) : std::string("+Inf");
    absl::StrAppend(out, name, "_bucket{le=\"", le, "\"} ", cumulative, "\n");
  }
  absl::StrAppend(out, name, "_sum ", sum_.load(std::memory_order_relaxed),
                  "\n", name, "_count ", cumulative, "\n");
}

void GrpcCallCounters::Started(absl::string_view method,
                               absl::string_view type) {
  std::lock_guard<std::mutex> lock(mu_);
  ++started_[{std::string(method), std::string(type)}];
}

void GrpcCallCounters::Handled(absl::string_view method, absl::string_view type,
                               absl::string_view code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++handled_[{std::string(method), std::string(type), std::string(code)}];
}

void GrpcCallCounters::WriteText(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StrAppend(out,
                  "# HELP grpc_server_started_total Total number of RPCs "
                  "started on the server.\n"
                  "# TYPE grpc_server_started_total counter\n");
  for (const auto& [key, n] : started_) {
    const auto& [method, type] = key;
    absl::StrAppend(out, "grpc_server_started_total{", CallLabels(method, type),
                    "} ", n, "\n");
  }
  absl::StrAppend(out,
                  "# HELP grpc_server_handled_total Total number of RPCs "
                  "completed on the server, regardless of success or "
                  "failure.\n"
                  "# TYPE grpc_server_handled_total counter\n");
  for (const auto& [key, n] : handled_) {
    const auto& [method, type, code] = key;
    absl::StrAppend(out, "grpc_server_handled_total{grpc_code=\"", code, "\",",
                    CallLabels(method, type), "} ", n, "\n");
  }
}

void ServerMetrics::WriteText(std::string* out) const {
  wal_fsync_seconds.WriteText(
      out, "etcd_disk_wal_fsync_duration_seconds",
      "The latency distributions of fsync called by WAL.");
  absl::StrAppend(out,
                  "# HELP etcd_server_leader_changes_seen_total The number "
                  "of leader changes seen.\n"
                  "# TYPE etcd_server_leader_changes_seen_total counter\n"
                  "etcd_server_leader_changes_seen_total ",
                  leader_changes.load(std::memory_order_relaxed), "\n");
  grpc.WriteText(out);
}

}  // namespace etcdpp::rpc
