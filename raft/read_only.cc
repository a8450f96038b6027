#include "raft/read_only.h"

#include <utility>

#include "base/check.h"

namespace etcdpp::raft {

void ReadOnly::AddRequest(uint64_t index, const raftpb::Message& req) {
  CHECK_GE(req.entries_size(), 1) << "a read request carries its context";
  const std::string& ctx = req.entries(0).data();
  if (pending_.contains(ctx)) return;
  ReadIndexStatus& status = pending_[ctx];
  status.req = req;
  status.index = index;
  queue_.push_back(ctx);
}

const absl::flat_hash_map<uint64_t, bool>* ReadOnly::RecvAck(
    uint64_t id, const std::string& context) {
  auto it = pending_.find(context);
  if (it == pending_.end()) return nullptr;
  it->second.acks[id] = true;
  return &it->second.acks;
}

std::vector<ReadIndexStatus> ReadOnly::Advance(const std::string& context) {
  std::vector<ReadIndexStatus> out;
  if (!pending_.contains(context)) return out;
  while (!queue_.empty()) {
    std::string ctx = std::move(queue_.front());
    queue_.pop_front();
    auto it = pending_.find(ctx);
    CHECK(it != pending_.end()) << "every queued read is pending";
    out.push_back(std::move(it->second));
    pending_.erase(it);
    if (ctx == context) break;
  }
  return out;
}

std::string ReadOnly::LastPendingRequestCtx() const {
  return queue_.empty() ? std::string() : queue_.back();
}

void ReadOnly::CheckInvariants() const {
  CHECK_EQ(pending_.size(), queue_.size())
      << "each pending read is queued once";
  for (const std::string& ctx : queue_) {
    CHECK(pending_.contains(ctx)) << "every queued read is pending";
  }
}

}  // namespace etcdpp::raft
