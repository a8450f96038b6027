// Benchmarks of the store's hot paths: put, point range, prefix range, txn,
// watch fan-out, HashKV, a snapshot round trip, and the memory each key
// takes (bytes/key at 1 000 000 keys of 256-byte values).
// Figures are read, never asserted (STYLE.md).
//
//   bazel run -c opt //kv:kv_benchmark
#include <malloc.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "kv/applier.h"
#include "kv/mvcc_store.h"
#include "kv/snapshot.h"
#include "kv/txn.h"
#include "kv/watch.h"

namespace etcdpp::kv {
namespace {

std::string Key(int64_t i) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "/registry/pods/%08lld",
                static_cast<long long>(i));
  return buf;
}

void Fill(MvccStore& store, int64_t keys, const std::string& value) {
  etcdserverpb::PutRequest put;
  put.set_value(value);
  for (int64_t i = 0; i < keys; ++i) {
    put.set_key(Key(i));
    benchmark::DoNotOptimize(store.Put(put));
  }
}

void BM_Put(benchmark::State& state) {
  MvccStore store;
  etcdserverpb::PutRequest put;
  put.set_value(std::string(256, 'v'));
  int64_t i = 0;
  for (auto _ : state) {
    put.set_key(Key(i++ % state.range(0)));
    benchmark::DoNotOptimize(store.Put(put));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Put)->Arg(1000)->Arg(100000);

void BM_PointRange(benchmark::State& state) {
  MvccStore store;
  Fill(store, state.range(0), std::string(256, 'v'));
  etcdserverpb::RangeRequest range;
  int64_t i = 0;
  for (auto _ : state) {
    range.set_key(Key(i++ % state.range(0)));
    benchmark::DoNotOptimize(store.Range(range));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PointRange)->Arg(1000)->Arg(100000);

// A prefix holding 100 of the keys.
void BM_PrefixRange(benchmark::State& state) {
  MvccStore store;
  Fill(store, state.range(0), std::string(256, 'v'));
  etcdserverpb::RangeRequest range;
  range.set_key("/registry/pods/000001");
  range.set_range_end("/registry/pods/000002");
  for (auto _ : state) benchmark::DoNotOptimize(store.Range(range));
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_PrefixRange)->Arg(10000)->Arg(100000);

// Kubernetes' update: compare mod_revision, put on success, get on failure.
void BM_Txn(benchmark::State& state) {
  MvccStore store;
  Fill(store, state.range(0), std::string(256, 'v'));
  etcdserverpb::TxnRequest txn;
  etcdserverpb::Compare* compare = txn.add_compare();
  compare->set_target(etcdserverpb::Compare::MOD);
  compare->set_result(etcdserverpb::Compare::LESS);
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_value(std::string(256, 'w'));
  etcdserverpb::RangeRequest* get = txn.add_failure()->mutable_request_range();
  int64_t i = 0;
  for (auto _ : state) {
    const std::string key = Key(i++ % state.range(0));
    compare->set_key(key);
    compare->set_mod_revision(store.current_revision() + 1);
    put->set_key(key);
    get->set_key(key);
    benchmark::DoNotOptimize(Txn(&store, txn));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Txn)->Arg(1000)->Arg(100000);

// Watch fan-out: one write seen by range(0) watchers of its key, delivered
// and taken.
void BM_WatchFanOut(benchmark::State& state) {
  MvccStore store;
  WatchHub hub(&store);
  etcdserverpb::WatchCreateRequest watch;
  watch.set_key(Key(0));
  for (int64_t id = 0; id < state.range(0); ++id) {
    if (!hub.Watch(id, watch).ok()) state.SkipWithError("watch refused");
  }
  hub.TakeAll();
  etcdserverpb::PutRequest put;
  put.set_key(Key(0));
  put.set_value(std::string(256, 'v'));
  std::vector<mvccpb::Event> events;
  for (auto _ : state) {
    events.clear();
    benchmark::DoNotOptimize(store.Put(put, &events));
    hub.OnApplied(events, store.current_revision());
    benchmark::DoNotOptimize(hub.TakeAll());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_WatchFanOut)->Arg(10000);

// HashKV over a store of range(0) keys, each written twice.
void BM_HashKV(benchmark::State& state) {
  MvccStore store;
  Fill(store, state.range(0), std::string(256, 'v'));
  Fill(store, state.range(0), std::string(256, 'w'));
  for (auto _ : state) benchmark::DoNotOptimize(store.HashKV(0));
  state.SetItemsProcessed(state.iterations() * 2 * state.range(0));
}
BENCHMARK(BM_HashKV)->Arg(100000);

// A full snapshot and restore of range(0) keys.
void BM_SnapshotRoundTrip(benchmark::State& state) {
  Applier applier;
  etcdserverpb::PutRequest put;
  put.set_value(std::string(256, 'v'));
  for (int64_t i = 0; i < state.range(0); ++i) {
    kvpb::InternalRequest request;
    request.mutable_put()->set_key(Key(i));
    request.mutable_put()->set_value(std::string(256, 'v'));
    benchmark::DoNotOptimize(applier.Apply(request));
  }
  for (auto _ : state) {
    SnapshotReader reader;
    SnapshotWriter writer(applier, 1);
    std::string chunk;
    while (writer.Next(&chunk)) {
      if (!reader.Add(chunk).ok()) state.SkipWithError("restore failed");
    }
    benchmark::DoNotOptimize(reader.Finish());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SnapshotRoundTrip)->Arg(100000);

// Heap bytes in use, from glibc's allocator (benchmark only: the store
// itself never asks).
double HeapBytes() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd);
}

// Memory per key: the heap growth of filling a store with state.range(0)
// keys of 256-byte values, one revision each, divided by the keys. The
// estimate the space quota uses (MvccStore::size_bytes) is reported beside
// it.
void BM_MemoryPerKey(benchmark::State& state) {
  const int64_t keys = state.range(0);
  for (auto _ : state) {
    malloc_trim(0);
    const double before = HeapBytes();
    auto applier = std::make_unique<Applier>();
    kvpb::InternalRequest put;
    put.mutable_put()->set_value(std::string(256, 'v'));
    for (int64_t i = 0; i < keys; ++i) {
      put.mutable_put()->set_key(Key(i));
      benchmark::DoNotOptimize(applier->Apply(put));
    }
    const double after = HeapBytes();
    state.counters["bytes_per_key"] = (after - before) / keys;
    state.counters["quota_estimate_bytes_per_key"] =
        static_cast<double>(applier->EstimatedSizeBytes()) / keys;
    state.PauseTiming();
    applier.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_MemoryPerKey)->Arg(1000000)->Iterations(1)->Unit(
    benchmark::kMillisecond);

}  // namespace
}  // namespace etcdpp::kv
