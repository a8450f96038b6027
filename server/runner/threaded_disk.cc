#include "server/runner/threaded_disk.h"

#include <utility>

#include "base/check.h"

namespace etcdpp::runner {

ThreadedDisk::ThreadedDisk(std::unique_ptr<storage::Disk> inner,
                           std::function<void()> notify)
    : inner_(std::move(inner)), notify_(std::move(notify)) {
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
    for (storage::DiskOp& op : batch) inner_->Submit(std::move(op));
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
