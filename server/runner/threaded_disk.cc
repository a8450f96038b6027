#include "server/runner/threaded_disk.h"

#include <chrono>
#include <utility>
#include <variant>

#include "base/check.h"
#include "server/storage/wal_format.h"

namespace etcdpp::runner {

ThreadedDisk::ThreadedDisk(std::unique_ptr<storage::Disk> inner,
                           std::function<void()> notify,
                           rpc::Histogram* wal_fsync_seconds)
    : inner_(std::move(inner)),
      notify_(std::move(notify)),
      wal_fsync_seconds_(wal_fsync_seconds) {
  thread_ = std::thread([this] { Run(); });
}

ThreadedDisk::~ThreadedDisk() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_.notify_one();
  thread_.join();
}

absl::Status ThreadedDisk::Lock() {
  WaitIdle();
  return inner_->Lock();
}

uint64_t ThreadedDisk::Submit(storage::DiskOp op) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_op_id_++;
    queue_.push_back(std::move(op));
  }
  work_.notify_one();
  return id;
}

std::vector<storage::DiskCompletion> ThreadedDisk::TakeCompletions() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(completed_, {});
}

void ThreadedDisk::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to do
    std::deque<storage::DiskOp> batch = std::move(queue_);
    queue_.clear();
    busy_ = true;
    lock.unlock();
    for (storage::DiskOp& op : batch) Execute(std::move(op));
    std::vector<storage::DiskCompletion> done = inner_->TakeCompletions();
    lock.lock();
    busy_ = false;
    // The inner disk numbers its operations as we do: both start at 1 and
    // count submissions in the same order.
    for (storage::DiskCompletion& c : done) completed_.push_back(std::move(c));
    if (queue_.empty()) idle_.notify_all();
    lock.unlock();
    if (notify_) notify_();
    lock.lock();
  }
}

void ThreadedDisk::Execute(storage::DiskOp op) {
  const auto* sync = std::get_if<storage::SyncOp>(&op);
  if (wal_fsync_seconds_ == nullptr || sync == nullptr ||
      !storage::wal::ParseSegmentName(sync->path).has_value()) {
    inner_->Submit(std::move(op));
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  inner_->Submit(std::move(op));
  wal_fsync_seconds_->Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count());
}

void ThreadedDisk::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

absl::StatusOr<std::string> ThreadedDisk::ReadFile(absl::string_view path) {
  WaitIdle();
  return inner_->ReadFile(path);
}

absl::StatusOr<uint64_t> ThreadedDisk::FileSize(absl::string_view path) {
  WaitIdle();
  return inner_->FileSize(path);
}

absl::StatusOr<std::vector<std::string>> ThreadedDisk::List() {
  WaitIdle();
  return inner_->List();
}

}  // namespace etcdpp::runner
