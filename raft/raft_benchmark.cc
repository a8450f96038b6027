// Benchmarks of the raft core, with no I/O: the leader's handling of
// acknowledgements and heartbeat responses, a follower appending batches,
// and entries committed per second in a 3-node in-memory cluster.
//
//   bazel run -c opt //raft:raft_benchmark
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "raft/raw_node.h"
#include "raft/testing/network.h"

namespace etcdpp::raft {
namespace {

using testing::Network;

// Drains the leader's Ready and the message queue without delivering.
void Drain(Network& net, uint64_t id) {
  net.ProcessReady(id);
  net.queue().clear();
}

void BM_LeaderStepHeartbeatResponse(benchmark::State& state) {
  Network net;
  net.Campaign(1);
  raftpb::Message m;
  m.set_type(raftpb::MsgHeartbeatResp);
  m.set_from(2);
  m.set_to(1);
  m.set_term(net.raft(1).term());
  int n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(net.node(1).Step(m));
    if (++n % 1024 == 0) Drain(net, 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LeaderStepHeartbeatResponse);

void BM_LeaderStepAppendResponse(benchmark::State& state) {
  Network net;
  net.Campaign(1);
  // Every iteration: one proposal, then the follower's acknowledgement of it.
  raftpb::Message ack;
  ack.set_type(raftpb::MsgAppResp);
  ack.set_from(2);
  ack.set_to(1);
  ack.set_term(net.raft(1).term());
  const std::string data(128, 'x');
  for (auto _ : state) {
    (void)net.node(1).Propose(data);
    Drain(net, 1);
    ack.set_index(net.raft(1).log().LastIndex());
    benchmark::DoNotOptimize(net.node(1).Step(ack));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LeaderStepAppendResponse);

void BM_FollowerAppendBatch(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  Network net;
  net.Campaign(1);
  const uint64_t term = net.raft(1).term();
  uint64_t last = net.raft(2).log().LastIndex();
  const std::string data(128, 'x');
  for (auto _ : state) {
    raftpb::Message app;
    app.set_type(raftpb::MsgApp);
    app.set_from(1);
    app.set_to(2);
    app.set_term(term);
    app.set_index(last);
    app.set_log_term(term);
    app.set_commit(last);
    for (int i = 0; i < batch; ++i) {
      raftpb::Entry* e = app.add_entries();
      e->set_term(term);
      e->set_index(last + 1 + i);
      e->set_data(data);
    }
    benchmark::DoNotOptimize(net.node(2).Step(app));
    Drain(net, 2);
    last += batch;
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_FollowerAppendBatch)->Arg(1)->Arg(64)->Arg(512);

void BM_ThreeNodeCommit(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  Network net;
  net.Campaign(1);
  const std::string data(128, 'x');
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) (void)net.node(1).Propose(data);
    net.Stabilize();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["committed"] = static_cast<double>(net.raft(1).log().committed());
}
BENCHMARK(BM_ThreeNodeCommit)->Arg(1)->Arg(64)->Arg(512);

}  // namespace
}  // namespace etcdpp::raft

BENCHMARK_MAIN();
