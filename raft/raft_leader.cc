// Raft: the leader's side — proposals, replication and flow control,
// commitment, heartbeats, ReadIndex, leader transfer and configuration.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "raft/confchange.h"
#include "raft/raft.h"

namespace etcdpp::raft {

absl::Status Raft::StepLeader(raftpb::Message m) {
  bool handled = false;
  absl::Status s = StepLeaderLocal(m, &handled);
  if (handled) return s;
  // Everything else concerns one follower's progress.
  auto it = trk_.progress.find(m.from());
  if (it == trk_.progress.end()) {
    Drop(&DropCounters::unknown_peer);
    return absl::OkStatus();
  }
  Progress& pr = it->second;
  switch (m.type()) {
    case raftpb::MsgAppResp:
      HandleAppendResponse(m, pr);
      break;
    case raftpb::MsgHeartbeatResp:
      HandleHeartbeatResponse(m, pr);
      break;
    case raftpb::MsgSnapStatus:
      HandleSnapshotStatus(m, pr);
      break;
    case raftpb::MsgUnreachable:
      // An optimistic pipeline to an unreachable node has probably lost a
      // message; probe again.
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      break;
    case raftpb::MsgTransferLeader:
      HandleTransferLeader(m, pr);
      break;
    default:
      // E.g. an MsgApp from another leader of our term: impossible (§5.2
      // Election Safety), so the sender is broken.
      Drop(&DropCounters::invalid);
      break;
  }
  return absl::OkStatus();
}

absl::Status Raft::StepLeaderLocal(raftpb::Message& m, bool* handled) {
  *handled = true;
  switch (m.type()) {
    case raftpb::MsgBeat:
      BcastHeartbeat();
      return absl::OkStatus();
    case raftpb::MsgCheckQuorum:
      CheckQuorum();
      return absl::OkStatus();
    case raftpb::MsgForgetLeader:
      return absl::OkStatus();  // a leader does not forget itself
    case raftpb::MsgProp:
      return HandlePropose(std::move(m));
    case raftpb::MsgReadIndex:
      HandleReadIndex(m);
      return absl::OkStatus();
    default:
      *handled = false;
      return absl::OkStatus();
  }
}

void Raft::CheckQuorum() {
  // Thesis §6.2: a leader that has not heard from a quorum within an
  // election timeout may be partitioned away; step down so clients find
  // the real leader.
  if (!trk_.QuorumActive()) BecomeFollower(term_, kNone);
  trk_.Visit([&](uint64_t id, Progress& pr) {
    if (id != id_) pr.recent_active = false;
  });
}

absl::Status Raft::HandlePropose(raftpb::Message m) {
  if (!trk_.progress.contains(id_)) {
    return ProposalDroppedError("the leader was removed from the config");
  }
  if (lead_transferee_ != kNone) {
    return ProposalDroppedError("leadership transfer in progress");
  }
  std::vector<raftpb::Entry> entries(m.entries().begin(), m.entries().end());
  for (size_t k = 0; k < entries.size(); ++k) {
    raftpb::Entry& e = entries[k];
    if (e.type() != raftpb::EntryConfChange &&
        e.type() != raftpb::EntryConfChangeV2) {
      continue;
    }
    raftpb::ConfChangeV2 cc;
    bool parsed;
    if (e.type() == raftpb::EntryConfChange) {
      raftpb::ConfChange v1;
      parsed = v1.ParseFromString(e.data());
      cc = ConfChangeV1ToV2(v1);
    } else {
      parsed = cc.ParseFromString(e.data());
    }
    // Thesis §4.1: at most one change in flight, and joint configurations
    // are left before anything else changes. A refused change becomes an
    // empty normal entry, so the batch's other entries keep their indexes.
    const bool already_pending = pending_conf_index_ > log_.applied();
    const bool already_joint = trk_.config.voters.IsJoint();
    const bool wants_leave_joint = cc.changes_size() == 0;
    if (!parsed || already_pending || already_joint != wants_leave_joint) {
      e = raftpb::Entry();
    } else {
      pending_conf_index_ = log_.LastIndex() + k + 1;
    }
  }
  if (!AppendEntry(std::move(entries))) {
    return ProposalDroppedError("the uncommitted log size limit is reached");
  }
  BcastAppend();
  return absl::OkStatus();
}

bool Raft::AppendEntry(std::vector<raftpb::Entry> entries) {
  uint64_t last = log_.LastIndex();
  for (size_t k = 0; k < entries.size(); ++k) {
    entries[k].set_term(term_);
    entries[k].set_index(last + 1 + k);
  }
  if (!IncreaseUncommittedSize(entries)) return false;
  last = log_.Append(entries);
  if (bugs_.ack_append_before_persist) {
    // Counts itself before the entries are durable.
    auto it = trk_.progress.find(id_);
    if (it != trk_.progress.end()) it->second.MaybeUpdate(last);
    MaybeCommit();
    return true;
  }
  // Acknowledge ourselves once these entries are durable (§10.2.1).
  raftpb::Message ack;
  ack.set_to(id_);
  ack.set_type(raftpb::MsgAppResp);
  ack.set_index(last);
  Send(std::move(ack));
  return true;
}

bool Raft::IncreaseUncommittedSize(const std::vector<raftpb::Entry>& entries) {
  uint64_t size = 0;
  for (const raftpb::Entry& e : entries) size += PayloadSize(e);
  // Always admit one proposal when nothing is uncommitted, so a proposal
  // bigger than the cap does not block forever; empty entries always fit.
  if (uncommitted_size_ > 0 && size > 0 &&
      uncommitted_size_ + size > max_uncommitted_size_) {
    return false;
  }
  uncommitted_size_ += size;
  return true;
}

void Raft::ReduceUncommittedSize(uint64_t size) {
  // The size may include entries of an earlier term, whose sizes were reset
  // when this node became leader: never go below zero.
  uncommitted_size_ = size > uncommitted_size_ ? 0 : uncommitted_size_ - size;
}

bool Raft::MaybeCommit() {
  // Figure 8 / §5.4.2: commit only an entry of our own term by counting
  // replicas; earlier entries are committed with it.
  if (bugs_.commit_previous_term_by_counting) {
    const uint64_t index = trk_.Committed();
    if (index <= log_.committed()) return false;
    log_.CommitTo(index);
    return true;
  }
  return log_.MaybeCommit(trk_.Committed(), term_);
}

// ---------------------------------------------------------------------------
// Replication.

bool Raft::MaybeSendAppend(uint64_t to) {
  Progress& pr = trk_.progress.at(to);
  const uint64_t last = log_.LastIndex();
  const uint64_t commit = log_.committed();
  if (!pr.ShouldSendMsgApp(last, commit)) return false;
  const uint64_t prev_index = pr.next - 1;
  absl::StatusOr<uint64_t> prev_term = log_.Term(prev_index);
  // The entries the follower needs are compacted: send a snapshot.
  if (!prev_term.ok()) return MaybeSendSnapshot(to, pr);
  std::vector<raftpb::Entry> entries;
  if (pr.CanSendEntries(last)) {
    absl::StatusOr<std::vector<raftpb::Entry>> got =
        log_.Entries(pr.next, max_msg_size_);
    if (!got.ok()) return MaybeSendSnapshot(to, pr);
    entries = *std::move(got);
  }
  uint64_t bytes = 0;
  for (const raftpb::Entry& e : entries) bytes += PayloadSize(e);
  const int count = static_cast<int>(entries.size());
  raftpb::Message m;
  m.set_to(to);
  m.set_type(raftpb::MsgApp);
  m.set_index(prev_index);
  m.set_log_term(*prev_term);
  m.set_commit(commit);
  for (raftpb::Entry& e : entries) *m.add_entries() = std::move(e);
  Send(std::move(m));
  pr.SentEntries(count, bytes);
  pr.SentCommit(commit);
  return true;
}

bool Raft::MaybeSendSnapshot(uint64_t to, Progress& pr) {
  // A snapshot is big: send it only to a follower known to be alive.
  if (!pr.recent_active) return false;
  absl::StatusOr<raftpb::Snapshot> snapshot = log_.Snapshot();
  if (!snapshot.ok()) {
    CHECK(IsSnapshotTemporarilyUnavailable(snapshot.status()))
        << "a storage's snapshot is available or temporarily unavailable: "
        << snapshot.status();
    return false;
  }
  CHECK_NE(snapshot->metadata().index(), 0u)
      << "a log compacted past a follower's next has a snapshot";
  pr.BecomeSnapshot(snapshot->metadata().index());
  raftpb::Message m;
  m.set_to(to);
  m.set_type(raftpb::MsgSnap);
  *m.mutable_snapshot() = *std::move(snapshot);
  Send(std::move(m));
  return true;
}

void Raft::BcastAppend() {
  trk_.Visit([&](uint64_t id, Progress&) {
    if (id != id_) MaybeSendAppend(id);
  });
}

void Raft::HandleAppendResponse(const raftpb::Message& m, Progress& pr) {
  // An acknowledgement past our log is impossible.
  if (m.index() > log_.LastIndex()) {
    Drop(&DropCounters::invalid);
    return;
  }
  pr.recent_active = true;
  if (!m.reject()) {
    HandleAppendAccepted(m, pr);
    return;
  }
  // Fast backtracking: with the follower's (hint index, hint term), skip
  // to where our log can still match theirs.
  uint64_t next_probe = m.reject_hint();
  if (m.log_term() > 0) {
    next_probe = log_.FindConflictByTerm(m.reject_hint(), m.log_term()).index;
  }
  if (pr.MaybeDecrTo(m.index(), next_probe)) {
    if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
    MaybeSendAppend(m.from());
  }
}

void Raft::HandleAppendAccepted(const raftpb::Message& m, Progress& pr) {
  const bool updated = pr.MaybeUpdate(m.index());
  // A probe acknowledged at our current match also ends probing.
  if (!updated &&
      !(pr.match == m.index() && pr.state == ProgressState::kProbe)) {
    return;
  }
  if (pr.state == ProgressState::kProbe) {
    pr.BecomeReplicate();
  } else if (pr.state == ProgressState::kSnapshot &&
             pr.match + 1 >= log_.FirstIndex()) {
    // The follower caught up far enough (by the snapshot or otherwise) to
    // be served from the log again.
    pr.BecomeProbe();
    pr.BecomeReplicate();
  } else if (pr.state == ProgressState::kReplicate) {
    pr.inflights.FreeLE(m.index());
  }
  if (MaybeCommit()) {
    // Our commit index now has an entry of our term: reads may go on.
    ReleasePendingReadIndexMessages();
    BcastAppend();
  } else if (m.from() != id_ && pr.CanBumpCommit(log_.committed())) {
    MaybeSendAppend(m.from());
  }
  // Flow control may have opened: send as much as it allows.
  if (m.from() != id_) {
    while (MaybeSendAppend(m.from())) {
    }
  }
  if (m.from() == lead_transferee_ && pr.match == log_.LastIndex()) {
    SendTimeoutNow(m.from());
  }
}

void Raft::HandleHeartbeatResponse(const raftpb::Message& m, Progress& pr) {
  pr.recent_active = true;
  pr.PauseMsgAppFlow(false);
  // Also sends an empty append to a follower whose window is full, in case
  // every message that filled it was lost.
  if (pr.match < log_.LastIndex() || pr.state == ProgressState::kProbe) {
    MaybeSendAppend(m.from());
  }
  if (read_only_.option() != ReadOnlyOption::kSafe || m.context().empty()) {
    return;
  }
  const absl::flat_hash_map<uint64_t, bool>* acks =
      read_only_.RecvAck(m.from(), m.context());
  if (acks == nullptr || trk_.config.voters.VoteResult(*acks) != VoteResult::kWon) {
    return;
  }
  for (const ReadIndexStatus& rs : read_only_.Advance(m.context())) {
    RespondToReadIndex(rs.req, rs.index);
  }
}

void Raft::HandleSnapshotStatus(const raftpb::Message& m, Progress& pr) {
  if (pr.state != ProgressState::kSnapshot) return;
  // On failure forget the snapshot, so probing restarts from match rather
  // than past a snapshot the follower never applied.
  if (m.reject()) pr.pending_snapshot = 0;
  pr.BecomeProbe();
  // Success: wait for the follower's MsgAppResp. Failure: wait for a
  // heartbeat before trying again.
  pr.PauseMsgAppFlow(true);
}

// ---------------------------------------------------------------------------
// Heartbeats and ReadIndex.

void Raft::BcastHeartbeat() {
  BcastHeartbeatWithCtx(read_only_.LastPendingRequestCtx());
  read_index_broadcast_pending_ = false;
}

void Raft::BcastHeartbeatWithCtx(const std::string& ctx) {
  trk_.Visit([&](uint64_t id, Progress&) {
    if (id != id_) SendHeartbeat(id, ctx);
  });
}

void Raft::SendHeartbeat(uint64_t to, const std::string& ctx) {
  Progress& pr = trk_.progress.at(to);
  // Never tell a follower to commit past what it is known to hold.
  const uint64_t commit = std::min(pr.match, log_.committed());
  raftpb::Message m;
  m.set_to(to);
  m.set_type(raftpb::MsgHeartbeat);
  m.set_commit(commit);
  m.set_context(ctx);
  Send(std::move(m));
  pr.SentCommit(commit);
}

void Raft::FlushReadIndexBroadcast() {
  if (!read_index_broadcast_pending_) return;
  if (state_ == StateType::kLeader) BcastHeartbeat();
  read_index_broadcast_pending_ = false;
}

void Raft::HandleReadIndex(const raftpb::Message& m) {
  if (trk_.IsSingleton()) {
    RespondToReadIndex(m, log_.committed());
    return;
  }
  // Thesis §6.4: until the leader commits an entry of its own term its
  // commit index may be behind the cluster's; hold reads until then.
  if (!CommittedEntryInCurrentTerm()) {
    pending_read_index_messages_.push_back(m);
    return;
  }
  SendReadIndexResponse(m);
}

bool Raft::CommittedEntryInCurrentTerm() const {
  return log_.TermOrZero(log_.committed()) == term_;
}

void Raft::SendReadIndexResponse(const raftpb::Message& m) {
  if (read_only_.option() == ReadOnlyOption::kLeaseBased) {
    // The lease (check_quorum) guarantees no other leader exists yet.
    RespondToReadIndex(m, log_.committed());
    return;
  }
  read_only_.AddRequest(log_.committed(), m);
  read_only_.RecvAck(id_, m.entries(0).data());
  // Batched: one heartbeat round, sent when the Ready is built, confirms
  // every request queued until then.
  read_index_broadcast_pending_ = true;
}

void Raft::RespondToReadIndex(const raftpb::Message& req, uint64_t read_index) {
  if (req.from() == kNone || req.from() == id_) {
    read_states_.push_back({read_index, req.entries(0).data()});
    return;
  }
  raftpb::Message resp;
  resp.set_to(req.from());
  resp.set_type(raftpb::MsgReadIndexResp);
  resp.set_index(read_index);
  *resp.mutable_entries() = req.entries();
  Send(std::move(resp));
}

void Raft::ReleasePendingReadIndexMessages() {
  if (pending_read_index_messages_.empty()) return;
  if (!CommittedEntryInCurrentTerm()) return;
  std::vector<raftpb::Message> msgs = std::move(pending_read_index_messages_);
  pending_read_index_messages_.clear();
  for (const raftpb::Message& m : msgs) SendReadIndexResponse(m);
}

// ---------------------------------------------------------------------------
// Leader transfer (thesis §3.10).

void Raft::HandleTransferLeader(const raftpb::Message& m, Progress& pr) {
  if (pr.is_learner) {
    Drop(&DropCounters::ignored);
    return;
  }
  const uint64_t transferee = m.from();
  if (lead_transferee_ != kNone) {
    if (lead_transferee_ == transferee) return;
    AbortLeaderTransfer();
  }
  if (transferee == id_) return;
  // The transfer must finish within an election timeout.
  election_elapsed_ = 0;
  lead_transferee_ = transferee;
  if (pr.match == log_.LastIndex()) {
    SendTimeoutNow(transferee);
  } else {
    // Catch the target up first; its MsgAppResp triggers the TimeoutNow.
    MaybeSendAppend(transferee);
  }
}

void Raft::SendTimeoutNow(uint64_t to) {
  raftpb::Message m;
  m.set_to(to);
  m.set_type(raftpb::MsgTimeoutNow);
  Send(std::move(m));
}

// ---------------------------------------------------------------------------
// Configuration.

raftpb::ConfState Raft::SwitchToConfig(TrackerConfig config,
                                       ProgressMap progress) {
  trk_.config = std::move(config);
  trk_.progress = std::move(progress);
  const raftpb::ConfState cs = trk_.ConfState();
  auto it = trk_.progress.find(id_);
  const bool member = it != trk_.progress.end();
  is_learner_ = member && it->second.is_learner;
  if ((!member || is_learner_) && state_ == StateType::kLeader) {
    // A leader removed (or demoted) by the change steps down; the remaining
    // voters elect a new leader (thesis §4.2.2).
    BecomeFollower(term_, kNone);
    return cs;
  }
  if (state_ != StateType::kLeader || cs.voters_size() == 0) return cs;
  if (MaybeCommit()) {
    BcastAppend();
  } else {
    // Probe new members at once rather than at the next heartbeat.
    BcastAppend();
  }
  if (lead_transferee_ != kNone &&
      !trk_.config.voters.IDs().contains(lead_transferee_)) {
    AbortLeaderTransfer();
  }
  return cs;
}

}  // namespace etcdpp::raft
