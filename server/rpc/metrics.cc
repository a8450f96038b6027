#include "server/rpc/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

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

void WriteGauge(std::string* out, absl::string_view name,
                absl::string_view help, absl::string_view type, double value,
                absl::string_view labels) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type,
                  "\n", name, labels, " ", value, "\n");
}

void WriteProcessMetrics(std::string* out) {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)),
                   std::istreambuf_iterator<char>());
  // Fields after the command (which may hold spaces) start at ") ".
  const size_t close = stat.rfind(") ");
  if (close != std::string::npos) {
    const std::vector<std::string> f =
        absl::StrSplit(stat.substr(close + 2), ' ');
    // f[0] is field 3 (state): utime is field 14, stime 15, starttime 22,
    // vsize 23, rss 24 (in pages).
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
    if (f.size() > 21 && absl::SimpleAtod(f[11], &utime) &&
        absl::SimpleAtod(f[12], &stime) && absl::SimpleAtod(f[19], &start) &&
        absl::SimpleAtod(f[20], &vsize) && absl::SimpleAtod(f[21], &rss)) {
      WriteGauge(out, "process_cpu_seconds_total",
                 "Total user and system CPU time spent in seconds.", "counter",
                 (utime + stime) / ticks);
      WriteGauge(out, "process_resident_memory_bytes",
                 "Resident memory size in bytes.", "gauge",
                 rss * static_cast<double>(sysconf(_SC_PAGESIZE)));
      WriteGauge(out, "process_virtual_memory_bytes",
                 "Virtual memory size in bytes.", "gauge", vsize);
      // starttime is in ticks since boot.
      std::ifstream stat_all("/proc/stat");
      std::string line;
      double boot = 0;
      while (std::getline(stat_all, line)) {
        absl::string_view rest = line;
        if (absl::ConsumePrefix(&rest, "btime ") &&
            absl::SimpleAtod(rest, &boot)) {
          break;
        }
      }
      if (boot > 0) {
        WriteGauge(out, "process_start_time_seconds",
                   "Start time of the process since unix epoch in seconds.",
                   "gauge", boot + start / ticks);
      }
    }
  }
  int fds = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++fds;
    }
    closedir(dir);
    WriteGauge(out, "process_open_fds", "Number of open file descriptors.",
               "gauge",
               fds - 1);  // less the one reading the directory
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    WriteGauge(out, "process_max_fds",
               "Maximum number of open file descriptors.", "gauge",
               static_cast<double>(limit.rlim_cur));
  }
}

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
  WriteGauge(
      out, "etcd_server_leader_changes_seen_total",
      "The number of leader changes seen.", "counter",
      static_cast<double>(leader_changes.load(std::memory_order_relaxed)));
  grpc.WriteText(out);
}

}  // namespace etcdpp::rpc
