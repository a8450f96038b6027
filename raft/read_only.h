// ReadOnly: the leader's queue of pending ReadIndex requests (Raft thesis
// §6.4).
//
// A read request is identified by its context bytes. The leader records the
// commit index when the request arrives, broadcasts a heartbeat carrying the
// context, and once a quorum has acknowledged a heartbeat carrying that
// context (or a later one: heartbeats are answered in order per follower and
// each answer confirms leadership at the time it was sent) every request up
// to and including it may be served at its recorded index.
#ifndef ETCDPP_RAFT_READ_ONLY_H_
#define ETCDPP_RAFT_READ_ONLY_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "raft/config.h"
#include "raft/raft.pb.h"

namespace etcdpp::raft {

// Handed to the application in Ready: the read with this context may be
// served once the application has applied `index`.
struct ReadState {
  uint64_t index = 0;
  std::string request_ctx;

  friend bool operator==(const ReadState& a, const ReadState& b) {
    return a.index == b.index && a.request_ctx == b.request_ctx;
  }
};

struct ReadIndexStatus {
  // The MsgReadIndex as received (from == the node to answer).
  raftpb::Message req;
  // The leader's commit index when the request arrived.
  uint64_t index = 0;
  // Voters that acknowledged a heartbeat with this context. Only looked up
  // and passed to the quorum math, never iterated into output.
  absl::flat_hash_map<uint64_t, bool> acks;
};

class ReadOnly {
 public:
  explicit ReadOnly(ReadOnlyOption option) : option_(option) {}

  // Queues a request (its context is req.entries(0).data()) at `index`. A
  // context already pending is ignored.
  void AddRequest(uint64_t index, const raftpb::Message& req);
  // Records that `id` acknowledged the heartbeat with `context`; returns the
  // acks of that request, or null if no such request is pending.
  const absl::flat_hash_map<uint64_t, bool>* RecvAck(uint64_t id,
                                                     const std::string& context);
  // Dequeues and returns, in arrival order, every request up to and
  // including the one with `context`; empty if it is not pending.
  std::vector<ReadIndexStatus> Advance(const std::string& context);
  // The context of the newest pending request, or "" if none.
  std::string LastPendingRequestCtx() const;

  ReadOnlyOption option() const { return option_; }
  size_t pending_count() const { return queue_.size(); }

  void CheckInvariants() const;

 private:
  ReadOnlyOption option_;
  // Lookup only; order comes from queue_.
  absl::flat_hash_map<std::string, ReadIndexStatus> pending_;
  // Contexts in arrival order. Invariant: exactly the keys of pending_.
  std::deque<std::string> queue_;
};

}  // namespace etcdpp::raft

#endif  // ETCDPP_RAFT_READ_ONLY_H_
