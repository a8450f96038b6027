#include "raft/raw_node.h"

#include <utility>

#include "base/check.h"
#include "raft/confchange.h"

namespace etcdpp::raft {
namespace {

bool HardStateEqual(const raftpb::HardState& a, const raftpb::HardState& b) {
  return a.term() == b.term() && a.vote() == b.vote() &&
         a.commit() == b.commit();
}

bool IsLocalType(raftpb::MessageType t) {
  return t == raftpb::MsgHup || t == raftpb::MsgBeat ||
         t == raftpb::MsgUnreachable || t == raftpb::MsgSnapStatus ||
         t == raftpb::MsgCheckQuorum || t == raftpb::MsgForgetLeader;
}

raftpb::Message LocalMessage(raftpb::MessageType type, uint64_t from) {
  raftpb::Message m;
  m.set_type(type);
  m.set_from(from);
  return m;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RawNode>> RawNode::Create(
    const Config& config) {
  absl::StatusOr<std::unique_ptr<Raft>> r = Raft::Create(config);
  if (!r.ok()) return r.status();
  return std::unique_ptr<RawNode>(new RawNode(*std::move(r)));
}

RawNode::RawNode(std::unique_ptr<Raft> raft) : raft_(std::move(raft)) {
  prev_soft_state_ = raft_->GetSoftState();
  prev_hard_state_ = raft_->GetHardState();
}

void RawNode::Tick() { raft_->Tick(); }

absl::Status RawNode::Campaign() {
  return raft_->Step(LocalMessage(raftpb::MsgHup, raft_->id()));
}

absl::Status RawNode::Propose(std::string data) {
  raftpb::Message m = LocalMessage(raftpb::MsgProp, raft_->id());
  m.add_entries()->set_data(std::move(data));
  return raft_->Step(std::move(m));
}

absl::Status RawNode::ProposeConfChange(const raftpb::ConfChange& change) {
  raftpb::Message m = LocalMessage(raftpb::MsgProp, raft_->id());
  raftpb::Entry* e = m.add_entries();
  e->set_type(raftpb::EntryConfChange);
  e->set_data(change.SerializeAsString());
  return raft_->Step(std::move(m));
}

absl::Status RawNode::ProposeConfChange(const raftpb::ConfChangeV2& change) {
  raftpb::Message m = LocalMessage(raftpb::MsgProp, raft_->id());
  raftpb::Entry* e = m.add_entries();
  e->set_type(raftpb::EntryConfChangeV2);
  e->set_data(change.SerializeAsString());
  return raft_->Step(std::move(m));
}

absl::StatusOr<raftpb::ConfState> RawNode::ApplyConfChange(
    const raftpb::ConfChangeV2& change) {
  return raft_->ApplyConfChange(change);
}

absl::StatusOr<raftpb::ConfState> RawNode::ApplyConfChange(
    const raftpb::ConfChange& change) {
  return raft_->ApplyConfChange(ConfChangeV1ToV2(change));
}

absl::Status RawNode::Step(const raftpb::Message& m) {
  if (IsLocalType(m.type())) {
    return absl::InvalidArgumentError("raft: cannot step a local message");
  }
  if (m.to() != raft_->id()) {
    return absl::InvalidArgumentError("raft: message not addressed to us");
  }
  return raft_->Step(m);
}

absl::Status RawNode::ReadIndex(std::string context) {
  raftpb::Message m = LocalMessage(raftpb::MsgReadIndex, raft_->id());
  m.add_entries()->set_data(std::move(context));
  return raft_->Step(std::move(m));
}

void RawNode::TransferLeader(uint64_t transferee) {
  (void)raft_->Step(LocalMessage(raftpb::MsgTransferLeader, transferee));
}

absl::Status RawNode::ForgetLeader() {
  return raft_->Step(LocalMessage(raftpb::MsgForgetLeader, raft_->id()));
}

void RawNode::ReportUnreachable(uint64_t id) {
  (void)raft_->Step(LocalMessage(raftpb::MsgUnreachable, id));
}

void RawNode::ReportSnapshot(uint64_t id, SnapshotStatus status) {
  raftpb::Message m = LocalMessage(raftpb::MsgSnapStatus, id);
  m.set_reject(status == SnapshotStatus::kFailure);
  (void)raft_->Step(std::move(m));
}

bool RawNode::HasReady() const {
  if (outstanding_.has_value()) return false;
  const Raft& r = *raft_;
  const RaftLog& log = r.log();
  return !(r.GetSoftState() == prev_soft_state_) ||
         !HardStateEqual(r.GetHardState(), prev_hard_state_) ||
         log.NextUnstableSnapshot() != nullptr ||
         log.HasNextUnstableEntries() || log.HasNextCommittedEntries() ||
         !raft_->msgs().empty() || !raft_->msgs_after_append().empty() ||
         !raft_->read_states().empty() ||
         raft_->read_index_broadcast_pending();
}

Ready RawNode::GetReady() {
  CHECK(!outstanding_.has_value()) << "one Ready is outstanding at a time";
  raft_->FlushReadIndexBroadcast();
  RaftLog& log = raft_->mutable_log();
  Ready rd;
  Outstanding out;
  absl::Span<const raftpb::Entry> unstable = log.NextUnstableEntries();
  rd.entries.assign(unstable.begin(), unstable.end());
  if (!rd.entries.empty()) {
    out.last_entry = EntryId{rd.entries.back().term(), rd.entries.back().index()};
  }
  if (const raftpb::Snapshot* snap = log.NextUnstableSnapshot()) {
    rd.snapshot = *snap;
    out.snapshot_index = snap->metadata().index();
  }
  rd.committed_entries = log.NextCommittedEntries();
  for (const raftpb::Entry& e : rd.committed_entries) {
    out.applied_size += PayloadSize(e);
  }
  if (!rd.committed_entries.empty()) {
    out.applied_index = rd.committed_entries.back().index();
  }
  if (raft_->planted_bugs().apply_before_commit &&
      !log.HasUnstableSnapshot()) {
    // The planted bug: normal entries past the commit index go to the
    // application too (raft's own bookkeeping still stops at commit).
    uint64_t lo = std::max(log.applying(), handed_out_early_) + 1;
    if (!rd.committed_entries.empty()) {
      lo = std::max(lo, rd.committed_entries.back().index() + 1);
    }
    if (lo >= log.FirstIndex() && lo <= log.LastIndex()) {
      absl::StatusOr<std::vector<raftpb::Entry>> more =
          log.Slice(lo, log.LastIndex() + 1, kNoLimit);
      if (more.ok()) {
        for (raftpb::Entry& e : *more) {
          if (e.type() != raftpb::EntryNormal) break;
          handed_out_early_ = e.index();
          rd.committed_entries.push_back(std::move(e));
        }
      }
    }
  }
  const SoftState soft = raft_->GetSoftState();
  if (!(soft == prev_soft_state_)) rd.soft_state = soft;
  const raftpb::HardState hard = raft_->GetHardState();
  if (!HardStateEqual(hard, prev_hard_state_)) rd.hard_state = hard;
  rd.must_sync = !rd.entries.empty() || rd.snapshot.has_value() ||
                 hard.term() != prev_hard_state_.term() ||
                 hard.vote() != prev_hard_state_.vote();
  rd.messages = std::move(raft_->msgs());
  raft_->msgs().clear();
  for (raftpb::Message& m : raft_->msgs_after_append()) {
    if (m.to() == raft_->id()) {
      out.self_messages.push_back(std::move(m));
    } else {
      rd.messages_after_persist.push_back(std::move(m));
    }
  }
  raft_->msgs_after_append().clear();
  rd.read_states = std::move(raft_->read_states());
  raft_->read_states().clear();
  // Accept: what was handed out is not handed out again.
  log.AcceptUnstable();
  if (out.applied_index != 0) log.AcceptApplying(out.applied_index);
  prev_soft_state_ = soft;
  prev_hard_state_ = hard;
  outstanding_ = std::move(out);
  return rd;
}

void RawNode::Advance() {
  CHECK(outstanding_.has_value()) << "Advance follows GetReady";
  Outstanding out = std::move(*outstanding_);
  outstanding_.reset();
  RaftLog& log = raft_->mutable_log();
  if (out.snapshot_index.has_value()) {
    raft_->AppliedSnapshot(*out.snapshot_index);
  }
  if (out.last_entry.has_value()) {
    log.StableTo(out.last_entry->index, out.last_entry->term);
  }
  if (out.applied_index != 0) {
    raft_->AppliedTo(out.applied_index, out.applied_size);
  }
  // Self-acknowledgements, now that what they acknowledge is durable.
  for (raftpb::Message& m : out.self_messages) raft_->StepSelf(std::move(m));
}

raft::Status RawNode::GetStatus() const {
  raft::Status s;
  s.id = raft_->id();
  s.hard_state = raft_->GetHardState();
  s.soft_state = raft_->GetSoftState();
  s.applied = raft_->log().applied();
  if (raft_->state() == StateType::kLeader) s.progress = raft_->tracker().progress;
  s.config = raft_->tracker().config;
  s.lead_transferee = raft_->lead_transferee();
  s.drops = raft_->drops();
  return s;
}

}  // namespace etcdpp::raft
