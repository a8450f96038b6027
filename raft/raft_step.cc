// Raft::Step: validation of peer input, the term rules every message goes
// through (§5.1), votes (§5.2, §5.4.1), and the follower and candidate
// roles. The leader's handlers are in raft_leader.cc.
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "raft/confchange.h"
#include "raft/raft.h"

namespace etcdpp::raft {
namespace {

bool IsLocalType(raftpb::MessageType t) {
  return t == raftpb::MsgHup || t == raftpb::MsgBeat ||
         t == raftpb::MsgUnreachable || t == raftpb::MsgSnapStatus ||
         t == raftpb::MsgCheckQuorum || t == raftpb::MsgForgetLeader;
}

bool IsResponseType(raftpb::MessageType t) {
  return t == raftpb::MsgAppResp || t == raftpb::MsgVoteResp ||
         t == raftpb::MsgHeartbeatResp || t == raftpb::MsgPreVoteResp ||
         t == raftpb::MsgReadIndexResp;
}

// Entries of an MsgApp must follow its (index, log_term) contiguously, with
// terms that never go down and never pass the leader's term (§5.3).
absl::Status ValidateAppendEntries(const raftpb::Message& m) {
  uint64_t prev_term = m.log_term();
  if (m.index() == 0 && m.log_term() != 0) {
    return absl::InvalidArgumentError("MsgApp: term at index 0 must be 0");
  }
  for (int k = 0; k < m.entries_size(); ++k) {
    const raftpb::Entry& e = m.entries(k);
    if (e.index() != m.index() + 1 + k) {
      return absl::InvalidArgumentError("MsgApp: entries not contiguous");
    }
    if (e.term() < prev_term || e.term() > m.term()) {
      return absl::InvalidArgumentError("MsgApp: entry term out of order");
    }
    prev_term = e.term();
  }
  if (m.log_term() > m.term()) {
    return absl::InvalidArgumentError("MsgApp: log term past message term");
  }
  return absl::OkStatus();
}

// Peer terms at or above this are refused. No honest cluster gets near it
// (at one election a millisecond it takes 292 million years), and a node
// that adopted a term near 2^64 would wrap to term 0 on its next campaign:
// a forged MsgTimeoutNow with term 2^64-1 used to reach the CHECK in Send
// (fuzz/corpus/raft_message/crash-7a99eee0...).
constexpr uint64_t kMaxPeerTerm = uint64_t{1} << 63;
// Likewise for indexes: a log never gets near 2^63 entries, and an index
// near 2^64 would wrap (index + 1, index + entries) in the log and the
// progress arithmetic.
constexpr uint64_t kMaxPeerIndex = uint64_t{1} << 63;

// Every index and term a peer message carries is below the bounds, so no
// arithmetic on them can overflow.
absl::Status ValidateBounds(const raftpb::Message& m) {
  if (m.term() >= kMaxPeerTerm || m.log_term() >= kMaxPeerTerm) {
    return absl::InvalidArgumentError("a term no cluster can reach");
  }
  if (m.index() >= kMaxPeerIndex || m.commit() >= kMaxPeerIndex ||
      m.reject_hint() >= kMaxPeerIndex) {
    return absl::InvalidArgumentError("an index no log can reach");
  }
  for (const raftpb::Entry& e : m.entries()) {
    if (e.index() >= kMaxPeerIndex || e.term() >= kMaxPeerTerm) {
      return absl::InvalidArgumentError("an entry no log can hold");
    }
  }
  const raftpb::SnapshotMetadata& md = m.snapshot().metadata();
  if (md.index() >= kMaxPeerIndex || md.term() >= kMaxPeerTerm) {
    return absl::InvalidArgumentError("a snapshot no log can hold");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Raft::ValidatePeerMessage(const raftpb::Message& m) const {
  const raftpb::MessageType t = m.type();
  if (!raftpb::MessageType_IsValid(t) || IsLocalType(t)) {
    return absl::InvalidArgumentError("a local message type from a peer");
  }
  if (m.to() != id_) return absl::InvalidArgumentError("addressed elsewhere");
  if (m.from() == kNone || m.from() == id_) {
    return absl::InvalidArgumentError("bad sender id");
  }
  const bool termless = t == raftpb::MsgProp || t == raftpb::MsgReadIndex;
  if (!termless && m.term() == 0) {
    return absl::InvalidArgumentError("a peer message without a term");
  }
  if (termless && m.term() != 0) {
    return absl::InvalidArgumentError("a forwarded request with a term");
  }
  if (absl::Status s = ValidateBounds(m); !s.ok()) return s;
  // The last log term of a candidate, the term at an append's index, a
  // rejection's hint term and a refused vote's committed entry's term are
  // all terms of entries the sender holds, which never pass its term.
  if ((t == raftpb::MsgVote || t == raftpb::MsgPreVote ||
       t == raftpb::MsgAppResp || t == raftpb::MsgVoteResp ||
       t == raftpb::MsgPreVoteResp) &&
      m.log_term() > m.term()) {
    return absl::InvalidArgumentError("a log term past the message term");
  }
  // A follower hints at an index at or below the one it rejected.
  if (t == raftpb::MsgAppResp && m.reject() && m.reject_hint() > m.index()) {
    return absl::InvalidArgumentError("MsgAppResp: hint past the rejection");
  }
  if ((t == raftpb::MsgProp || t == raftpb::MsgReadIndex) &&
      m.entries_size() == 0) {
    return absl::InvalidArgumentError("a request without entries");
  }
  if (t == raftpb::MsgReadIndexResp && m.entries_size() != 1) {
    return absl::InvalidArgumentError("MsgReadIndexResp without its context");
  }
  if (t == raftpb::MsgApp) return ValidateAppendEntries(m);
  if (t == raftpb::MsgSnap) {
    const raftpb::SnapshotMetadata& md = m.snapshot().metadata();
    if (md.index() == 0 || md.term() == 0 || md.term() > m.term()) {
      return absl::InvalidArgumentError("MsgSnap: bad snapshot metadata");
    }
  }
  if (IsResponseType(t) && t != raftpb::MsgVoteResp &&
      t != raftpb::MsgPreVoteResp && t != raftpb::MsgReadIndexResp &&
      !trk_.progress.contains(m.from())) {
    return absl::NotFoundError("a response from a node not in the config");
  }
  return absl::OkStatus();
}

absl::Status Raft::Step(raftpb::Message m) {
  const bool local =
      IsLocalType(m.type()) ||
      ((m.type() == raftpb::MsgProp || m.type() == raftpb::MsgReadIndex ||
        m.type() == raftpb::MsgTransferLeader) &&
       m.to() == kNone && m.term() == 0);
  if (!local) {
    if (absl::Status s = ValidatePeerMessage(m); !s.ok()) {
      Drop(absl::IsNotFound(s) ? &DropCounters::unknown_peer
                               : &DropCounters::invalid);
      return s;
    }
  }
  // Before the term checks: what a refusal says of the commit point holds
  // in any term.
  if (!local && m.reject() &&
      (m.type() == raftpb::MsgVoteResp || m.type() == raftpb::MsgPreVoteResp)) {
    LearnCommit(m);
  }
  if (m.term() != 0 && !StepTerm(m)) return absl::OkStatus();
  switch (m.type()) {
    case raftpb::MsgHup:
      Hup(pre_vote_ ? kCampaignPreElection : kCampaignElection);
      return absl::OkStatus();
    case raftpb::MsgVote:
    case raftpb::MsgPreVote:
      StepVoteRequest(m);
      return absl::OkStatus();
    default:
      return StepByRole(std::move(m));
  }
}

void Raft::StepSelf(raftpb::Message m) {
  CHECK_EQ(m.to(), id_) << "a self message is addressed to us";
  // A deferred self-ack from an older term is stale: the entries it
  // acknowledges may since have been replaced, and the vote is moot.
  if (m.term() != 0 && m.term() < term_) return;
  if (m.term() > term_) {
    // Only a pre-vote for ourselves carries the term we would take.
    CHECK(m.type() == raftpb::MsgPreVoteResp)
        << "self messages come from our own terms";
  }
  (void)StepByRole(std::move(m));
}

bool Raft::InLease() const {
  return check_quorum_ && lead_ != kNone &&
         election_elapsed_ < election_timeout_;
}

bool Raft::StepTerm(const raftpb::Message& m) {
  const raftpb::MessageType t = m.type();
  if (m.term() > term_) {
    if (t == raftpb::MsgVote || t == raftpb::MsgPreVote) {
      // Thesis §4.2.3: while we hear from a live leader, ignore votes, so a
      // removed or partitioned node cannot depose it — unless the leader
      // itself asked for the election by transferring leadership.
      const bool force = m.context() == kCampaignTransfer;
      if (!force && InLease()) {
        Drop(&DropCounters::ignored);
        return false;
      }
    }
    if (t == raftpb::MsgPreVote) {
      // Never change our term because of a pre-vote.
    } else if (t == raftpb::MsgPreVoteResp && !m.reject()) {
      // A granted pre-vote carries the term we asked with; we take it only
      // when a quorum grants.
    } else if (t == raftpb::MsgApp || t == raftpb::MsgHeartbeat ||
               t == raftpb::MsgSnap) {
      BecomeFollower(m.term(), m.from());
    } else {
      BecomeFollower(m.term(), kNone);
    }
    return true;
  }
  if (m.term() < term_) {
    if ((check_quorum_ || pre_vote_) &&
        (t == raftpb::MsgHeartbeat || t == raftpb::MsgApp)) {
      // A stale leader (e.g. healed from a partition) would otherwise never
      // learn the new term if we ignore it, while its own elections are
      // blocked by our lease or pre-vote: tell it.
      raftpb::Message resp;
      resp.set_to(m.from());
      resp.set_type(raftpb::MsgAppResp);
      Send(std::move(resp));
    } else if (t == raftpb::MsgPreVote) {
      // Rejecting with our term lets a lagging pre-candidate catch up.
      raftpb::Message resp;
      resp.set_to(m.from());
      resp.set_term(term_);
      resp.set_type(raftpb::MsgPreVoteResp);
      resp.set_reject(true);
      Send(std::move(resp));
    }
    Drop(&DropCounters::stale_term);
    return false;
  }
  return true;
}

void Raft::StepVoteRequest(const raftpb::Message& m) {
  // §5.2: one vote per term (a repeat for the same candidate is fine); a
  // pre-vote for a future term may be granted freely.
  const bool can_vote =
      vote_ == m.from() || (vote_ == kNone && lead_ == kNone) ||
      (m.type() == raftpb::MsgPreVote && m.term() > term_) ||
      (bugs_.vote_twice_in_term && state_ == StateType::kFollower);
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(m.type() == raftpb::MsgVote ? raftpb::MsgVoteResp
                                            : raftpb::MsgPreVoteResp);
  // §5.4.1: only for a candidate whose log is at least as up to date.
  if (can_vote && log_.IsUpToDate(m.index(), m.log_term())) {
    // A granted pre-vote echoes the future term it was asked with, so the
    // pre-candidate recognizes it.
    resp.set_term(m.term());
    if (m.type() == raftpb::MsgVote) {
      election_elapsed_ = 0;
      vote_ = m.from();
    }
  } else {
    resp.set_term(term_);
    resp.set_reject(true);
    // How far we know the log committed (see LearnCommit): a refused
    // candidate holding that entry may commit it too.
    const uint64_t committed = log_.committed();
    const uint64_t committed_term = log_.TermOrZero(committed);
    if (committed > 0 && committed_term > 0) {
      resp.set_commit(committed);
      resp.set_log_term(committed_term);
    }
  }
  Send(std::move(resp));
}

void Raft::LearnCommit(const raftpb::Message& m) {
  // A committed entry stays committed, and by Log Matching a log holding
  // the same (index, term) holds the same entries up to it: committing
  // them here is safe whoever says so. It is needed when the only voters
  // of a committed configuration have not heard it committed, while the
  // nodes that have are learners in it (a demoted leader): they cannot
  // campaign, and refuse the voters' campaigns for their longer logs, so
  // no leader would ever come to tell them.
  if (m.commit() > log_.committed() && m.commit() <= log_.LastIndex() &&
      log_.MatchTerm(m.commit(), m.log_term())) {
    log_.CommitTo(m.commit());
  }
}

absl::Status Raft::StepByRole(raftpb::Message m) {
  switch (state_) {
    case StateType::kLeader:
      return StepLeader(std::move(m));
    case StateType::kCandidate:
    case StateType::kPreCandidate:
      return StepCandidate(m);
    case StateType::kFollower:
      return StepFollower(std::move(m));
  }
  return absl::OkStatus();
}

absl::Status Raft::StepFollower(raftpb::Message m) {
  switch (m.type()) {
    case raftpb::MsgProp:
      if (lead_ == kNone) return ProposalDroppedError("no leader");
      if (disable_proposal_forwarding_) {
        return ProposalDroppedError("forwarding to the leader is disabled");
      }
      m.set_to(lead_);
      Send(std::move(m));
      return absl::OkStatus();
    case raftpb::MsgApp:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleAppendEntries(m);
      return absl::OkStatus();
    case raftpb::MsgHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleHeartbeat(m);
      return absl::OkStatus();
    case raftpb::MsgSnap:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleSnapshot(m);
      return absl::OkStatus();
    case raftpb::MsgTransferLeader:
    case raftpb::MsgReadIndex:
      if (lead_ == kNone) {
        return absl::UnavailableError(
            absl::StrCat("raft: no leader to forward ",
                         raftpb::MessageType_Name(m.type()), " to"));
      }
      m.set_to(lead_);
      Send(std::move(m));
      return absl::OkStatus();
    case raftpb::MsgTimeoutNow:
      // The leader asks us to take over now (thesis §3.10): campaign at once,
      // skipping pre-vote, with a context that passes leader stickiness.
      Hup(kCampaignTransfer);
      return absl::OkStatus();
    case raftpb::MsgReadIndexResp:
      read_states_.push_back({m.index(), m.entries(0).data()});
      return absl::OkStatus();
    case raftpb::MsgForgetLeader:
      // The application knows the leader is gone (e.g. it was removed):
      // forget it, so this node grants votes without waiting out the lease.
      // Lease-based reads trust that no vote is granted within the lease,
      // so they forbid it.
      if (read_only_.option() == ReadOnlyOption::kLeaseBased) {
        return absl::FailedPreconditionError(
            "raft: cannot forget the leader with lease-based reads");
      }
      lead_ = kNone;
      return absl::OkStatus();
    default:
      Drop(&DropCounters::ignored);
      return absl::OkStatus();
  }
}

absl::Status Raft::StepCandidate(const raftpb::Message& m) {
  const raftpb::MessageType my_vote_resp = state_ == StateType::kPreCandidate
                                               ? raftpb::MsgPreVoteResp
                                               : raftpb::MsgVoteResp;
  switch (m.type()) {
    case raftpb::MsgProp:
      return ProposalDroppedError("no leader");
    case raftpb::MsgApp:
      // §5.2: a leader of our term exists; recognize it.
      BecomeFollower(m.term(), m.from());
      HandleAppendEntries(m);
      return absl::OkStatus();
    case raftpb::MsgHeartbeat:
      BecomeFollower(m.term(), m.from());
      HandleHeartbeat(m);
      return absl::OkStatus();
    case raftpb::MsgSnap:
      BecomeFollower(m.term(), m.from());
      HandleSnapshot(m);
      return absl::OkStatus();
    case raftpb::MsgReadIndex:
    case raftpb::MsgTransferLeader:
      return absl::UnavailableError("raft: no leader during an election");
    default:
      break;
  }
  if (m.type() != my_vote_resp) {
    Drop(&DropCounters::ignored);
    return absl::OkStatus();
  }
  switch (Poll(m.from(), !m.reject())) {
    case VoteResult::kWon:
      if (!Promotable()) {
        // A configuration applied during the election removed or demoted
        // us; a node outside the voters must not lead.
        BecomeFollower(term_, kNone);
      } else if (state_ == StateType::kPreCandidate) {
        Campaign(kCampaignElection);
      } else {
        BecomeLeader();
        BcastAppend();
      }
      break;
    case VoteResult::kLost:
      // Leave the term alone: a higher one already made us a follower.
      BecomeFollower(term_, kNone);
      break;
    case VoteResult::kPending:
      break;
  }
  return absl::OkStatus();
}

void Raft::HandleAppendEntries(const raftpb::Message& m) {
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(raftpb::MsgAppResp);
  // Entries up to our commit index are known to match the leader's
  // (Leader Completeness); tell it where we are.
  if (m.index() < log_.committed()) {
    resp.set_index(log_.committed());
    Send(std::move(resp));
    return;
  }
  const std::vector<raftpb::Entry> entries(m.entries().begin(),
                                           m.entries().end());
  RaftLog::MaybeAppendOutcome out =
      log_.MaybeAppend({m.log_term(), m.index()}, m.commit(), entries);
  if (out.result == RaftLog::AppendResult::kAppended) {
    resp.set_index(out.last_new_index);
    Send(std::move(resp));
    return;
  }
  if (out.result == RaftLog::AppendResult::kConflictsWithCommitted) {
    Drop(&DropCounters::invalid);
    return;
  }
  // §5.3 with fast backtracking: reject, and hint at the largest index
  // whose term is <= the leader's term at m.index(); the leader's log cannot
  // match ours past it, so it can skip a whole term per round trip.
  const uint64_t hint_index = std::min(m.index(), log_.LastIndex());
  const EntryId hint = log_.FindConflictByTerm(hint_index, m.log_term());
  resp.set_index(m.index());
  resp.set_reject(true);
  resp.set_reject_hint(hint.index);
  resp.set_log_term(hint.term);
  Send(std::move(resp));
}

void Raft::HandleHeartbeat(const raftpb::Message& m) {
  // The leader sends min(our match, its commit), so this is within our log
  // unless we lost entries we acknowledged; never commit what we lack.
  if (m.commit() <= log_.LastIndex()) {
    log_.CommitTo(m.commit());
  } else {
    Drop(&DropCounters::invalid);
  }
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(raftpb::MsgHeartbeatResp);
  resp.set_context(m.context());
  Send(std::move(resp));
}

void Raft::HandleSnapshot(const raftpb::Message& m) {
  raftpb::Message resp;
  resp.set_to(m.from());
  resp.set_type(raftpb::MsgAppResp);
  resp.set_index(Restore(m.snapshot()) ? log_.LastIndex() : log_.committed());
  Send(std::move(resp));
}

bool Raft::Restore(const raftpb::Snapshot& snapshot) {
  const raftpb::SnapshotMetadata& md = snapshot.metadata();
  if (md.index() <= log_.committed()) return false;
  if (state_ != StateType::kFollower) {
    // Only followers receive snapshots; HandleSnapshot runs as follower.
    Drop(&DropCounters::invalid);
    return false;
  }
  // A snapshot whose configuration does not include us, or does not apply,
  // is not one a correct leader sends us.
  const raftpb::ConfState& cs = md.conf_state();
  bool found = false;
  for (const auto* set :
       {&cs.voters(), &cs.learners(), &cs.voters_outgoing()}) {
    for (uint64_t id : *set) found = found || id == id_;
  }
  if (!found) {
    Drop(&DropCounters::invalid);
    return false;
  }
  // We already hold the snapshot's last entry: just fast-forward commit.
  if (log_.MatchTerm(md.index(), md.term())) {
    log_.CommitTo(md.index());
    return false;
  }
  ProgressTracker fresh(trk_.max_inflight(), trk_.max_inflight_bytes());
  absl::StatusOr<ConfChangeResult> restored =
      raft::Restore(cs, Changer(fresh, md.index()));
  if (!restored.ok()) {
    Drop(&DropCounters::invalid);
    return false;
  }
  log_.Restore(snapshot);
  trk_ = std::move(fresh);
  SwitchToConfig(std::move(restored->config), std::move(restored->progress));
  return true;
}

}  // namespace etcdpp::raft
