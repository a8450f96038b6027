// The cluster's member list as replicated state: who the members are (id,
// name, peer and client URLs, learner or voter) as of the applied index.
//
// It changes only by applying committed conf change entries, whose context
// is a serialized etcdserverpb::Member carrying the member's attributes (as
// etcd's ConfChange context carries its JSON member), so every replica
// holds the same list at the same index. It is saved in front of the kv
// state in every snapshot file body (SnapshotBody below), so a member
// restarted or restored from a snapshot knows every member's URLs.
//
// Deterministic; ordered by member id everywhere.
#ifndef ETCDPP_SERVER_NODE_MEMBERSHIP_H_
#define ETCDPP_SERVER_NODE_MEMBERSHIP_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "raft/raft.pb.h"

namespace etcdpp::server {

// A peer the driver must connect to, reconnect to at new URLs, or drop.
struct PeerChange {
  uint64_t id = 0;
  std::vector<std::string> peer_urls;  // empty when removed
  bool removed = false;
};

class MemberSet {
 public:
  const std::map<uint64_t, etcdserverpb::Member>& members() const {
    return members_;
  }
  const std::set<uint64_t>& removed() const { return removed_; }
  const etcdserverpb::Member* Find(uint64_t id) const;
  std::vector<etcdserverpb::Member> List() const;
  size_t learners() const;
  // True if another member than `except` uses one of `urls`.
  bool PeerUrlsInUse(const std::vector<std::string>& urls,
                     uint64_t except) const;

  void Set(etcdserverpb::Member member);
  // Forgets the member and remembers its id as removed for good.
  void Remove(uint64_t id);

  // Applies a committed conf change (already accepted by raft) with its
  // context; returns the peers whose connection changes.
  std::vector<PeerChange> Apply(const raftpb::ConfChange& change);

  // The peers to connect to (every member but `self`), as PeerChanges.
  std::vector<PeerChange> Peers(uint64_t self) const;
  // What a driver must do to go from `before` to `after` (self excluded).
  static std::vector<PeerChange> Diff(const MemberSet& before,
                                      const MemberSet& after, uint64_t self);

  // encoding := count u32 (len u32 Member)* removed_count u32 (id u64)*
  std::string Encode() const;
  static absl::StatusOr<MemberSet> Decode(std::string_view data);

  bool operator==(const MemberSet& other) const;

 private:
  std::map<uint64_t, etcdserverpb::Member> members_;
  std::set<uint64_t> removed_;
};

// A member's published attributes (name, client URLs) travel in a normal
// entry, as etcd's publish does, so they never hold up a conf change:
//   data := 0x00 "ETCDPPAT" etcdserverpb.Member
// A serialized kv request never begins with a 0 byte (no field 0).
std::string EncodeAttributesEntry(const etcdserverpb::Member& attributes);
bool IsAttributesEntry(std::string_view data);
absl::StatusOr<etcdserverpb::Member> DecodeAttributesEntry(
    std::string_view data);

// A snapshot file's body: the member list, then the kv state.
//   body := "ETCDPPMB" length u32 MemberSet-encoding kv-state
// A body without the magic (written before membership was saved) is all kv
// state, with no member list.
std::string EncodeSnapshotBody(const MemberSet& members, std::string_view kv);
struct SnapshotBody {
  std::optional<MemberSet> members;
  std::string_view kv;  // points into the decoded data
};
absl::StatusOr<SnapshotBody> DecodeSnapshotBody(std::string_view body);

// The member list a ConfState describes when nothing better is known: the
// given members filtered to the configuration, and bare ids for the rest.
MemberSet MembersOfConfState(const raftpb::ConfState& conf,
                             const std::vector<etcdserverpb::Member>& known);

}  // namespace etcdpp::server

#endif  // ETCDPP_SERVER_NODE_MEMBERSHIP_H_
