#include "server/rpc/metrics.h"

#include <string>

#include "gtest/gtest.h"

namespace etcdpp::rpc {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(HistogramTest, BucketsAreCumulativeWithSumAndCount) {
  Histogram h(Histogram::ExponentialBuckets(0.001, 2, 3));  // 1, 2, 4 ms
  h.Observe(0.0005);
  h.Observe(0.002);  // on a bound: counts in it
  h.Observe(0.003);
  h.Observe(9);
  std::string text = "\n";
  h.WriteText(&text, "x_seconds", "help");
  EXPECT_TRUE(Has(text, "# TYPE x_seconds histogram")) << text;
  EXPECT_TRUE(Has(text, R"(x_seconds_bucket{le="0.001"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(x_seconds_bucket{le="0.002"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(x_seconds_bucket{le="0.004"} 3)")) << text;
  EXPECT_TRUE(Has(text, R"(x_seconds_bucket{le="+Inf"} 4)")) << text;
  EXPECT_TRUE(Has(text, "x_seconds_sum 9.0055")) << text;
  EXPECT_TRUE(Has(text, "x_seconds_count 4")) << text;
  EXPECT_EQ(h.count(), 4u);
}

TEST(GrpcCallCountersTest, LabelsAsGrpcPrometheus) {
  GrpcCallCounters c;
  c.Started("/etcdserverpb.KV/Range", "unary");
  c.Started("/etcdserverpb.KV/Range", "unary");
  c.Handled("/etcdserverpb.KV/Range", "unary", "OK");
  c.Handled("/etcdserverpb.KV/Range", "unary", "InvalidArgument");
  c.Started("/etcdserverpb.Watch/Watch", "bidi_stream");
  std::string text = "\n";
  c.WriteText(&text);
  EXPECT_TRUE(Has(text,
                  "grpc_server_started_total{grpc_method=\"Range\","
                  "grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"} 2"))
      << text;
  EXPECT_TRUE(Has(text,
                  "grpc_server_handled_total{grpc_code=\"InvalidArgument\","
                  "grpc_method=\"Range\",grpc_service=\"etcdserverpb.KV\","
                  "grpc_type=\"unary\"} 1"))
      << text;
  EXPECT_TRUE(Has(text,
                  "grpc_server_started_total{grpc_method=\"Watch\","
                  "grpc_service=\"etcdserverpb.Watch\","
                  "grpc_type=\"bidi_stream\"} 1"))
      << text;
}

TEST(ServerMetricsTest, WritesEveryFamily) {
  ServerMetrics m;
  m.wal_fsync_seconds.Observe(0.0015);
  m.leader_changes = 2;
  std::string text = "\n";
  m.WriteText(&text);
  EXPECT_TRUE(
      Has(text, R"(etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 1)"))
      << text;
  EXPECT_TRUE(Has(text, "etcd_disk_wal_fsync_duration_seconds_count 1"));
  EXPECT_TRUE(Has(text, "etcd_server_leader_changes_seen_total 2")) << text;
  EXPECT_TRUE(Has(text, "# TYPE grpc_server_handled_total counter")) << text;
}

}  // namespace
}  // namespace etcdpp::rpc
