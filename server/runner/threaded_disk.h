// ThreadedDisk: runs another Disk's operations on an I/O thread, so a slow
// fsync never blocks the node thread (DESIGN.md, "The node and its Env
// seam").
//
// Submit() queues the operation and returns at once; the I/O thread executes
// queued operations in submission order (so the Disk contract's ordering
// holds trivially) and, after each batch, makes their completions available
// to TakeCompletions() and calls `notify` -- from the I/O thread -- so the
// owner can wake its loop. While the thread syncs one batch, the node keeps
// serving the network, and the proposals arriving meanwhile form the next
// batch: group commit.
//
// Reads (ReadFile, FileSize, List) wait until every submitted operation has
// run, then read through the inner disk.
//
// Thread-safety: Submit, TakeCompletions and the reads may be called from
// any one thread (the node's); `notify` must be thread-safe.
#ifndef ETCDPP_SERVER_RUNNER_THREADED_DISK_H_
#define ETCDPP_SERVER_RUNNER_THREADED_DISK_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "server/rpc/metrics.h"
#include "server/storage/disk.h"

namespace etcdpp::runner {

class ThreadedDisk final : public storage::Disk {
 public:
  // `wal_fsync_seconds` (may be null) times every sync of a WAL file.
  ThreadedDisk(std::unique_ptr<storage::Disk> inner,
               std::function<void()> notify,
               rpc::Histogram* wal_fsync_seconds = nullptr);
  // Finishes every queued operation, then joins the thread.
  ~ThreadedDisk() override;

  absl::Status Lock() override;
  uint64_t Submit(storage::DiskOp op) override;
  std::vector<storage::DiskCompletion> TakeCompletions() override;
  absl::StatusOr<std::string> ReadFile(absl::string_view path) override;
  absl::StatusOr<uint64_t> FileSize(absl::string_view path) override;
  absl::StatusOr<std::vector<std::string>> List() override;

 private:
  void Run();
  // Runs one operation on the inner disk (timing WAL syncs).
  void Execute(storage::DiskOp op);
  void WaitIdle();

  std::unique_ptr<storage::Disk> inner_;  // used by the I/O thread, or
                                          // under inner_mu_ when idle
  std::function<void()> notify_;
  rpc::Histogram* const wal_fsync_seconds_;

  std::mutex mu_;
  std::condition_variable work_;   // ops queued, or stopping
  std::condition_variable idle_;   // the queue ran dry
  std::deque<storage::DiskOp> queue_;
  bool busy_ = false;              // the thread is executing a batch
  bool stop_ = false;
  uint64_t next_op_id_ = 1;
  std::vector<storage::DiskCompletion> completed_;

  std::thread thread_;
};

}  // namespace etcdpp::runner

#endif  // ETCDPP_SERVER_RUNNER_THREADED_DISK_H_
