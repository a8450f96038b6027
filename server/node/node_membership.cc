// server::Node's membership changes: the Cluster service's requests as raft
// conf changes (v1, with the member's attributes as the context, as etcd
// does), their checks, their application to the replicated member list,
// the attributes a member publishes, and a removed member's stop.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/node/errors.h"
#include "server/node/node.h"

namespace etcdpp::server {
namespace {

// etcd's readyPercent: a learner may be promoted once its log holds at
// least this share of the leader's.
constexpr double kLearnerReadyPercent = 0.9;
// etcd's maxLearners.
constexpr size_t kMaxLearners = 1;

raftpb::ConfChange MakeChange(raftpb::ConfChangeType type, uint64_t id,
                              const etcdserverpb::Member& context) {
  raftpb::ConfChange change;
  change.set_type(type);
  change.set_node_id(id);
  change.set_context(context.SerializeAsString());
  return change;
}

}  // namespace

void Node::AddMember(uint64_t request_id, etcdserverpb::Member member) {
  if (halted_) return;
  const std::vector<std::string> urls(member.peerurls().begin(),
                                      member.peerurls().end());
  absl::Status s;
  if (member.id() == 0 || urls.empty()) {
    s = MemberBadUrlsError();
  } else if (members_.Find(member.id()) != nullptr) {
    s = MemberExistError();
  } else if (members_.removed().contains(member.id())) {
    // etcd maps its "ID removed" to the not-found error.
    s = MemberNotFoundError();
  } else if (members_.PeerUrlsInUse(urls, /*except=*/0)) {
    s = PeerUrlExistError();
  } else if (member.islearner() && members_.learners() >= kMaxLearners) {
    s = TooManyLearnersError();
  }
  if (!s.ok()) return Reply(request_id, s);
  // The name and client URLs are the new member's to publish once it runs.
  member.clear_name();
  member.clear_clienturls();
  ProposeMemberChange(
      request_id,
      MakeChange(member.islearner() ? raftpb::ConfChangeAddLearnerNode
                                    : raftpb::ConfChangeAddNode,
                 member.id(), member));
}

void Node::PromoteMember(uint64_t request_id, uint64_t id) {
  if (halted_) return;
  if (absl::Status s = CheckPromotion(id); !s.ok()) {
    return Reply(request_id, s);
  }
  etcdserverpb::Member member = *members_.Find(id);
  member.set_islearner(false);
  ProposeMemberChange(request_id,
                      MakeChange(raftpb::ConfChangeAddNode, id, member));
}

void Node::RemoveMember(uint64_t request_id, uint64_t id) {
  if (halted_) return;
  if (absl::Status s = CheckRemoval(id); !s.ok()) return Reply(request_id, s);
  etcdserverpb::Member member;
  member.set_id(id);
  ProposeMemberChange(request_id,
                      MakeChange(raftpb::ConfChangeRemoveNode, id, member));
}

void Node::UpdateMember(uint64_t request_id, uint64_t id,
                        std::vector<std::string> peer_urls) {
  if (halted_) return;
  absl::Status s;
  if (peer_urls.empty()) {
    s = MemberBadUrlsError();
  } else if (members_.Find(id) == nullptr) {
    s = MemberNotFoundError();
  } else if (members_.PeerUrlsInUse(peer_urls, /*except=*/id)) {
    s = PeerUrlExistError();
  }
  if (!s.ok()) return Reply(request_id, s);
  etcdserverpb::Member member;
  member.set_id(id);
  for (std::string& u : peer_urls) member.add_peerurls(std::move(u));
  ProposeMemberChange(request_id,
                      MakeChange(raftpb::ConfChangeUpdateNode, id, member));
}

absl::Status Node::CheckPromotion(uint64_t id) const {
  const etcdserverpb::Member* member = members_.Find(id);
  if (member == nullptr) return MemberNotFoundError();
  if (!member->islearner()) return MemberNotLearnerError();
  // Only the leader knows how far the learner's log is; etcd forwards the
  // request to it, this node refuses instead (the client retries another
  // endpoint).
  if (raw_->raft().state() != raft::StateType::kLeader) {
    return raw_->raft().lead() == raft::kNone ? NoLeaderError()
                                              : NotLeaderError();
  }
  const raft::Status status = raw_->GetStatus();
  auto learner = status.progress.find(id);
  auto leader = status.progress.find(member_id_);
  if (learner == status.progress.end() || leader == status.progress.end()) {
    return LearnerNotReadyError();
  }
  if (static_cast<double>(learner->second.match) <
      static_cast<double>(leader->second.match) * kLearnerReadyPercent) {
    return LearnerNotReadyError();
  }
  return absl::OkStatus();
}

// etcd's strict reconfiguration check: after the removal, the members
// still active must hold a quorum of the voters left. Only the leader
// knows who is active; elsewhere only existence is checked.
absl::Status Node::CheckRemoval(uint64_t id) const {
  const etcdserverpb::Member* member = members_.Find(id);
  if (member == nullptr) return MemberNotFoundError();
  if (member->islearner() ||
      raw_->raft().state() != raft::StateType::kLeader) {
    return absl::OkStatus();
  }
  const raft::Status status = raw_->GetStatus();
  size_t voters = 0;
  size_t active = 0;
  for (const auto& [pid, progress] : status.progress) {
    if (pid == id || progress.is_learner) continue;
    ++voters;
    if (pid == member_id_ || progress.recent_active) ++active;
  }
  if (active < voters / 2 + 1) return NotEnoughStartedMembersError();
  return absl::OkStatus();
}

void Node::ProposeMemberChange(uint64_t request_id, raftpb::ConfChange change) {
  // One change at a time (thesis §4.1): raft would turn a second one into
  // an empty entry, leaving its client to time out.
  const bool pending =
      raw_->raft().pending_conf_index() > applied_index_ ||
      std::any_of(pending_writes_.begin(), pending_writes_.end(),
                  [](const auto& e) { return e.second.membership; });
  if (pending) return Reply(request_id, UnhealthyError());
  const uint64_t id = next_proposal_id_++;
  change.set_id(id);
  absl::Status s = raw_->ProposeConfChange(change);
  if (!s.ok()) {
    Reply(request_id, ProposalError(s));
  } else {
    pending_writes_[id] = PendingWrite{
        request_id, tick_ + options_.request_timeout_ticks, true};
  }
  Pump();
}

absl::Status Node::ValidateConfChange(const raftpb::ConfChange& change) const {
  const uint64_t id = change.node_id();
  const etcdserverpb::Member* member = members_.Find(id);
  switch (change.type()) {
    case raftpb::ConfChangeAddNode:
    case raftpb::ConfChangeAddLearnerNode: {
      if (member != nullptr) {
        const bool promotion = change.type() == raftpb::ConfChangeAddNode &&
                               member->islearner();
        return promotion ? absl::OkStatus() : MemberExistError();
      }
      if (members_.removed().contains(id)) return MemberNotFoundError();
      etcdserverpb::Member context;
      if (context.ParseFromString(change.context()) &&
          members_.PeerUrlsInUse({context.peerurls().begin(),
                                  context.peerurls().end()},
                                 /*except=*/id)) {
        return PeerUrlExistError();
      }
      return absl::OkStatus();
    }
    case raftpb::ConfChangeRemoveNode:
    case raftpb::ConfChangeUpdateNode:
      return member == nullptr ? MemberNotFoundError() : absl::OkStatus();
    default:
      return absl::InvalidArgumentError("unknown conf change type");
  }
}

void Node::OnConfChangeApplied(const raftpb::ConfChange& change,
                               const absl::Status& raft_status,
                               const absl::Status& valid) {
  const bool ok = raft_status.ok() && valid.ok();
  if (ok) {
    for (PeerChange& p : members_.Apply(change)) {
      if (p.id != member_id_) output_.peer_changes.push_back(std::move(p));
    }
    Log(base::LogLevel::kInfo,
        absl::StrCat("msg=\"applied member change\" type=",
                     raftpb::ConfChangeType_Name(change.type()),
                     " member=", absl::Hex(change.node_id()),
                     " members=", members_.members().size()));
    if (change.type() == raftpb::ConfChangeRemoveNode &&
        change.node_id() == member_id_) {
      removed_ = true;
    }
  }
  if (!valid.ok()) {
    Log(base::LogLevel::kInfo,
        absl::StrCat("msg=\"member change skipped\" member=",
                     absl::Hex(change.node_id()), " reason=\"",
                     valid.message(), "\""));
  }
  auto it = pending_writes_.find(change.id());
  if (it == pending_writes_.end()) return;
  ClientReply reply;
  reply.request_id = it->second.request_id;
  pending_writes_.erase(it);
  // raft refuses only what would break it (no voter left).
  reply.status = !valid.ok() ? valid
                 : raft_status.ok() ? raft_status
                                    : UnhealthyError();
  if (const etcdserverpb::Member* m = members_.Find(change.node_id())) {
    reply.member = *m;
  } else {
    (void)reply.member.ParseFromString(change.context());
  }
  reply.members = members_.List();
  reply.header = Header();
  output_.replies.push_back(std::move(reply));
}

void Node::SetMembers(MemberSet members) {
  for (PeerChange& p : MemberSet::Diff(members_, members, member_id_)) {
    output_.peer_changes.push_back(std::move(p));
  }
  members_ = std::move(members);
  if (members_.Find(member_id_) == nullptr &&
      members_.removed().contains(member_id_)) {
    removed_ = true;
  }
}

// As etcd's publish: the member's name and client URLs go through the log
// in a normal entry, so every member lists them (MemberList). Retried every
// election timeout until applied (a proposal may be lost).
void Node::MaybePublishAttributes() {
  if (halted_ || removed_ || tick_ < next_publish_tick_) return;
  if (options_.name.empty() && options_.client_urls.empty()) return;
  if (raw_->raft().lead() == raft::kNone) return;
  const etcdserverpb::Member* self = members_.Find(member_id_);
  if (self == nullptr) return;
  const std::vector<std::string> urls(self->clienturls().begin(),
                                      self->clienturls().end());
  if (self->name() == options_.name && urls == options_.client_urls) return;
  next_publish_tick_ = tick_ + options_.election_ticks;
  etcdserverpb::Member attributes;
  attributes.set_id(member_id_);
  attributes.set_name(options_.name);
  for (const std::string& u : options_.client_urls) {
    attributes.add_clienturls(u);
  }
  // A refusal (no leader yet, a transfer) is retried at the next turn.
  (void)raw_->Propose(EncodeAttributesEntry(attributes));
  Log(base::LogLevel::kDebug,
      absl::StrCat("msg=\"publishing member attributes\" name=", options_.name,
                   " client_urls=\"", absl::StrJoin(options_.client_urls, ","),
                   "\""));
}

void Node::ApplyAttributes(const raftpb::Entry& entry) {
  absl::StatusOr<etcdserverpb::Member> attributes =
      DecodeAttributesEntry(entry.data());
  if (!attributes.ok()) {
    return Halt(absl::DataLossError(absl::StrCat(
        "node: committed entry ", entry.index(), ": ",
        attributes.status().message())));
  }
  // Of a member removed meanwhile: nothing to update.
  if (members_.Find(attributes->id()) == nullptr) return;
  raftpb::ConfChange update = MakeChange(raftpb::ConfChangeUpdateNode,
                                         attributes->id(), *attributes);
  // Name and client URLs only: no peer changes come of it.
  attributes->clear_peerurls();
  update.set_context(attributes->SerializeAsString());
  (void)members_.Apply(update);
}

// A member that applied its own removal stops. A leader first asks the
// most up-to-date voter to campaign at once, so the cluster does not wait
// an election timeout for a new leader.
void Node::FinishRemoval() {
  Log(base::LogLevel::kWarn,
      "msg=\"this member has been permanently removed from the cluster; "
      "stopping\"");
  if (raw_->raft().state() == raft::StateType::kLeader) {
    if (const uint64_t best = MostCaughtUpVoter(); best != 0) {
      raw_->TransferLeader(best);
    }
    if (!in_flight_.has_value() && raw_->HasReady()) {
      raft::Ready ready = raw_->GetReady();
      for (raftpb::Message& m : ready.messages) Emit(std::move(m));
    }
  }
  Halt(MemberRemovedError());
}

}  // namespace etcdpp::server

namespace etcdpp::server {

// A member added after the newest snapshot would refuse it (raft restores
// only a configuration that holds the member itself), and the leader would
// send it again and again: drop the message, report the failure so raft
// retries, and take a snapshot at once that lists the member.
bool Node::SnapshotServesPeer(const raftpb::Message& message) {
  const raftpb::ConfState& conf = message.snapshot().metadata().conf_state();
  const uint64_t to = message.to();
  const auto has = [to](const auto& ids) {
    return std::find(ids.begin(), ids.end(), to) != ids.end();
  };
  if (has(conf.voters()) || has(conf.learners()) ||
      has(conf.learners_next())) {
    return true;
  }
  if (!snapshot_for_new_member_) {
    Log(base::LogLevel::kInfo,
        absl::StrCat("msg=\"taking a snapshot for a new member\" member=",
                     absl::Hex(to)));
  }
  snapshot_for_new_member_ = true;
  raw_->ReportSnapshot(to, raft::SnapshotStatus::kFailure);
  return false;
}

}  // namespace etcdpp::server
