#include "server/rpc/watch_service.h"

#include <deque>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/rpc/auth_context.h"
#include "server/rpc/errors.h"

namespace etcdpp::rpc {
namespace {

using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;

// One stream. Owned by a shared_ptr to itself until gRPC is done with it,
// and by the backend (as its sink) until the backend lets go, so a late
// Send from the backend never touches a freed reactor.
class WatchReactor final : public grpc::ServerBidiReactor<WatchRequest, WatchResponse>,
                           public WatchSink {
 public:
  WatchReactor(Backend* backend, uint64_t stream, std::string token,
               bool require_leader)
      : backend_(backend),
        stream_(stream),
        token_(std::move(token)),
        require_leader_(require_leader) {}

  // Called once, right after construction.
  void Begin(std::shared_ptr<WatchReactor> self) {
    self_ = std::move(self);
    if (absl::Status s =
            backend_->WatchOpen(stream_, self_, token_, require_leader_);
        !s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      FinishLocked(ToGrpcStatus(s));
      return;
    }
    opened_ = true;
    StartRead(&request_);
  }

  void Send(std::vector<WatchResponse> responses) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || closing_) return;
    for (WatchResponse& r : responses) queue_.push_back(std::move(r));
    backlog_.store(queue_.size());
    MaybeWriteLocked();
  }

  size_t Backlog() const override { return backlog_.load(); }

  void End(absl::Status status) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || closing_) return;
    closing_ = true;
    end_status_ = ToGrpcStatus(status);
    // Only the response being written (if any) still goes out.
    if (writing_) {
      queue_.resize(1);
    } else {
      queue_.clear();
    }
    backlog_.store(queue_.size());
    if (!writing_) FinishLocked(end_status_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed or went away: write what is queued, then end.
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
      if (!writing_) FinishLocked(grpc::Status::OK);
      return;
    }
    backend_->WatchRequest(stream_, std::move(request_));
    request_.Clear();
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    bool drained = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok) {
        queue_.clear();
        backlog_.store(0);
        FinishLocked(grpc::Status::CANCELLED);
        return;
      }
      queue_.pop_front();
      backlog_.store(queue_.size());
      MaybeWriteLocked();
      if (!writing_ && closing_) FinishLocked(end_status_);
      drained = queue_.empty() && !finished_;
    }
    if (drained) backend_->WatchWritable(stream_);
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    if (opened_) backend_->WatchClose(stream_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished_ = true;
      queue_.clear();
      backlog_.store(0);
    }
    self_.reset();  // may delete this
  }

 private:
  void MaybeWriteLocked() {
    if (writing_ || finished_ || queue_.empty()) return;
    writing_ = true;
    StartWrite(&queue_.front());
  }

  void FinishLocked(const grpc::Status& status) {
    if (finish_called_) return;
    finish_called_ = true;
    Finish(status);
  }

  Backend* const backend_;
  const uint64_t stream_;
  const std::string token_;  // the client's auth token, empty when none
  const bool require_leader_;  // the client sent etcd's "hasleader"
  std::shared_ptr<WatchReactor> self_;
  bool opened_ = false;
  WatchRequest request_;  // the read in flight

  mutable std::mutex mu_;
  std::deque<WatchResponse> queue_;  // front: being written when writing_
  std::atomic<size_t> backlog_{0};
  bool writing_ = false;
  bool closing_ = false;        // no more responses are taken
  grpc::Status end_status_;     // what the stream ends with once closing
  bool finish_called_ = false;
  bool finished_ = false;       // OnDone ran
};

// etcd's rpctypes.MetadataRequireLeaderKey, as clientv3's
// WithRequireLeader sets it.
bool RequiresLeader(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("hasleader");
  return it != metadata.end() &&
         absl::string_view(it->second.data(), it->second.size()) == "true";
}

}  // namespace

grpc::ServerBidiReactor<WatchRequest, WatchResponse>* WatchService::Watch(
    grpc::CallbackServerContext* context) {
  auto reactor = std::make_shared<WatchReactor>(
      backend_, next_stream_.fetch_add(1, std::memory_order_relaxed),
      TokenOf(*context), RequiresLeader(*context));
  WatchReactor* raw = reactor.get();
  raw->Begin(std::move(reactor));
  return raw;
}

}  // namespace etcdpp::rpc
