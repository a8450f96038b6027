#include "server/node/membership.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/storage/coding.h"

namespace etcdpp::server {
namespace {

constexpr std::string_view kBodyMagic = "ETCDPPMB";

std::vector<std::string> Urls(const etcdserverpb::Member& m) {
  return {m.peerurls().begin(), m.peerurls().end()};
}

}  // namespace

const etcdserverpb::Member* MemberSet::Find(uint64_t id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

std::vector<etcdserverpb::Member> MemberSet::List() const {
  std::vector<etcdserverpb::Member> list;
  for (const auto& [id, m] : members_) list.push_back(m);
  return list;
}

size_t MemberSet::learners() const {
  return std::count_if(members_.begin(), members_.end(),
                       [](const auto& e) { return e.second.islearner(); });
}

bool MemberSet::PeerUrlsInUse(const std::vector<std::string>& urls,
                              uint64_t except) const {
  for (const auto& [id, m] : members_) {
    if (id == except) continue;
    for (const std::string& u : m.peerurls()) {
      if (std::find(urls.begin(), urls.end(), u) != urls.end()) return true;
    }
  }
  return false;
}

void MemberSet::Set(etcdserverpb::Member member) {
  const uint64_t id = member.id();
  members_[id] = std::move(member);
}

void MemberSet::Remove(uint64_t id) {
  members_.erase(id);
  removed_.insert(id);
}

std::vector<PeerChange> MemberSet::Apply(const raftpb::ConfChange& change) {
  const uint64_t id = change.node_id();
  etcdserverpb::Member context;
  // A context that does not parse carries no attributes; the id is enough
  // for raft, and the list still names the member.
  if (!context.ParseFromString(change.context())) context.Clear();
  context.set_id(id);
  const MemberSet before = *this;
  switch (change.type()) {
    case raftpb::ConfChangeAddNode:
    case raftpb::ConfChangeAddLearnerNode: {
      auto it = members_.find(id);
      if (it != members_.end()) {
        // A promotion: the learner keeps its attributes.
        it->second.set_islearner(change.type() ==
                                 raftpb::ConfChangeAddLearnerNode);
        break;
      }
      context.set_islearner(change.type() == raftpb::ConfChangeAddLearnerNode);
      Set(std::move(context));
      break;
    }
    case raftpb::ConfChangeRemoveNode:
      Remove(id);
      break;
    case raftpb::ConfChangeUpdateNode: {
      auto it = members_.find(id);
      if (it == members_.end()) break;
      // Each attribute the context carries replaces the old one: peer URLs
      // (MemberUpdate), or the name and client URLs a member publishes.
      if (context.peerurls_size() > 0) {
        *it->second.mutable_peerurls() = context.peerurls();
      }
      if (!context.name().empty()) it->second.set_name(context.name());
      if (context.clienturls_size() > 0) {
        *it->second.mutable_clienturls() = context.clienturls();
      }
      break;
    }
    default:
      break;
  }
  return Diff(before, *this, /*self=*/0);
}

std::vector<PeerChange> MemberSet::Peers(uint64_t self) const {
  return Diff(MemberSet{}, *this, self);
}

std::vector<PeerChange> MemberSet::Diff(const MemberSet& before,
                                        const MemberSet& after,
                                        uint64_t self) {
  std::vector<PeerChange> changes;
  for (const auto& [id, m] : before.members_) {
    if (id != self && !after.members_.contains(id)) {
      changes.push_back(PeerChange{id, {}, true});
    }
  }
  for (const auto& [id, m] : after.members_) {
    if (id == self) continue;
    const etcdserverpb::Member* old = before.Find(id);
    if (old == nullptr || Urls(*old) != Urls(m)) {
      changes.push_back(PeerChange{id, Urls(m), false});
    }
  }
  std::sort(changes.begin(), changes.end(),
            [](const PeerChange& a, const PeerChange& b) { return a.id < b.id; });
  return changes;
}

std::string MemberSet::Encode() const {
  std::string out;
  storage::PutFixed32(&out, static_cast<uint32_t>(members_.size()));
  for (const auto& [id, m] : members_) {
    const std::string bytes = m.SerializeAsString();
    storage::PutFixed32(&out, static_cast<uint32_t>(bytes.size()));
    out += bytes;
  }
  storage::PutFixed32(&out, static_cast<uint32_t>(removed_.size()));
  for (uint64_t id : removed_) storage::PutFixed64(&out, id);
  return out;
}

absl::StatusOr<MemberSet> MemberSet::Decode(std::string_view data) {
  auto bad = [] {
    return absl::DataLossError("membership: member list does not decode");
  };
  MemberSet set;
  if (data.size() < 4) return bad();
  uint32_t count = storage::DecodeFixed32(data.data());
  data.remove_prefix(4);
  for (uint32_t i = 0; i < count; ++i) {
    if (data.size() < 4) return bad();
    const uint32_t len = storage::DecodeFixed32(data.data());
    data.remove_prefix(4);
    if (data.size() < len) return bad();
    etcdserverpb::Member m;
    if (!m.ParseFromArray(data.data(), static_cast<int>(len))) return bad();
    data.remove_prefix(len);
    set.Set(std::move(m));
  }
  if (data.size() < 4) return bad();
  count = storage::DecodeFixed32(data.data());
  data.remove_prefix(4);
  if (data.size() != uint64_t{count} * 8) return bad();
  for (uint32_t i = 0; i < count; ++i) {
    set.removed_.insert(storage::DecodeFixed64(data.data() + 8 * i));
  }
  return set;
}

bool MemberSet::operator==(const MemberSet& other) const {
  if (removed_ != other.removed_ || members_.size() != other.members_.size()) {
    return false;
  }
  for (const auto& [id, m] : members_) {
    const etcdserverpb::Member* o = other.Find(id);
    if (o == nullptr || o->SerializeAsString() != m.SerializeAsString()) {
      return false;
    }
  }
  return true;
}

namespace {
constexpr std::string_view kAttributesPrefix("\0ETCDPPAT", 9);
}  // namespace

std::string EncodeAttributesEntry(const etcdserverpb::Member& attributes) {
  return std::string(kAttributesPrefix) + attributes.SerializeAsString();
}

bool IsAttributesEntry(std::string_view data) {
  return data.substr(0, kAttributesPrefix.size()) == kAttributesPrefix;
}

absl::StatusOr<etcdserverpb::Member> DecodeAttributesEntry(
    std::string_view data) {
  etcdserverpb::Member m;
  data.remove_prefix(kAttributesPrefix.size());
  if (!m.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return absl::DataLossError("membership: attributes entry does not parse");
  }
  return m;
}

std::string EncodeSnapshotBody(const MemberSet& members, std::string_view kv) {
  const std::string encoded = members.Encode();
  std::string body(kBodyMagic);
  storage::PutFixed32(&body, static_cast<uint32_t>(encoded.size()));
  body += encoded;
  body.append(kv.data(), kv.size());
  return body;
}

absl::StatusOr<SnapshotBody> DecodeSnapshotBody(std::string_view body) {
  SnapshotBody out;
  if (body.substr(0, kBodyMagic.size()) != kBodyMagic) {
    out.kv = body;
    return out;
  }
  body.remove_prefix(kBodyMagic.size());
  if (body.size() < 4) {
    return absl::DataLossError("membership: snapshot body is truncated");
  }
  const uint32_t len = storage::DecodeFixed32(body.data());
  body.remove_prefix(4);
  if (body.size() < len) {
    return absl::DataLossError("membership: snapshot body is truncated");
  }
  absl::StatusOr<MemberSet> members = MemberSet::Decode(body.substr(0, len));
  if (!members.ok()) return members.status();
  out.members = *std::move(members);
  out.kv = body.substr(len);
  return out;
}

MemberSet MembersOfConfState(const raftpb::ConfState& conf,
                             const std::vector<etcdserverpb::Member>& known) {
  MemberSet set;
  auto add = [&](uint64_t id, bool learner) {
    etcdserverpb::Member m;
    m.set_id(id);
    for (const etcdserverpb::Member& k : known) {
      if (k.id() == id) m = k;
    }
    m.set_islearner(learner);
    set.Set(std::move(m));
  };
  for (uint64_t id : conf.voters()) add(id, false);
  for (uint64_t id : conf.learners()) add(id, true);
  return set;
}

}  // namespace etcdpp::server
