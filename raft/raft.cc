// Raft: construction, role transitions, the clock, elections, and sending.
// Step and its handlers live in raft_step.cc (all roles) and raft_leader.cc.
#include "raft/raft.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "raft/confchange.h"

namespace etcdpp::raft {

const char* StateTypeName(StateType state) {
  switch (state) {
    case StateType::kFollower:
      return "StateFollower";
    case StateType::kCandidate:
      return "StateCandidate";
    case StateType::kLeader:
      return "StateLeader";
    case StateType::kPreCandidate:
      return "StatePreCandidate";
  }
  return "StateUnknown";
}

absl::Status ProposalDroppedError(const char* why) {
  return absl::UnavailableError(absl::StrCat("raft: proposal dropped: ", why));
}

bool IsProposalDropped(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable &&
         absl::StartsWith(status.message(), "raft: proposal dropped");
}

namespace {

raftpb::MessageType VoteResponseType(raftpb::MessageType t) {
  return t == raftpb::MsgVote ? raftpb::MsgVoteResp : raftpb::MsgPreVoteResp;
}

}  // namespace

Raft::Raft(const Config& config)
    : id_(config.id),
      log_(config.storage, config.EffectiveMaxCommittedSizePerReady()),
      trk_(config.max_inflight_msgs, config.max_inflight_bytes),
      max_msg_size_(config.max_size_per_msg),
      max_uncommitted_size_(config.EffectiveMaxUncommittedEntriesSize()),
      read_only_(config.read_only_option),
      election_timeout_(config.election_ticks),
      heartbeat_timeout_(config.heartbeat_ticks),
      check_quorum_(config.check_quorum),
      pre_vote_(config.pre_vote),
      disable_proposal_forwarding_(config.disable_proposal_forwarding),
      prng_(config.seed),
      bugs_(config.planted_bugs) {}

absl::StatusOr<std::unique_ptr<Raft>> Raft::Create(const Config& config) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  absl::StatusOr<InitialState> initial = config.storage->GetInitialState();
  if (!initial.ok()) return initial.status();
  std::unique_ptr<Raft> r(new Raft(config));
  if (absl::Status s = r->LoadState(*initial, config.applied); !s.ok()) {
    return s;
  }
  r->BecomeFollower(r->term_, kNone);
  r->CheckInvariants();
  return r;
}

absl::Status Raft::LoadState(const InitialState& initial, uint64_t applied) {
  Changer changer(trk_, log_.LastIndex());
  absl::StatusOr<ConfChangeResult> restored =
      raft::Restore(initial.conf_state, changer);
  if (!restored.ok()) {
    return absl::DataLossError(absl::StrCat(
        "raft: stored conf state does not apply: ", restored.status().message()));
  }
  SwitchToConfig(std::move(restored->config), std::move(restored->progress));
  const raftpb::HardState& hs = initial.hard_state;
  if (hs.commit() < log_.committed() || hs.commit() > log_.LastIndex()) {
    return absl::DataLossError(absl::StrCat(
        "raft: stored commit ", hs.commit(), " is out of range [",
        log_.committed(), ", ", log_.LastIndex(), "]"));
  }
  log_.CommitTo(hs.commit());
  term_ = hs.term();
  vote_ = hs.vote();
  if (applied > log_.committed()) {
    return absl::InvalidArgumentError(
        absl::StrCat("raft: applied ", applied, " is past commit ",
                     log_.committed()));
  }
  if (applied > log_.applied()) log_.AppliedTo(applied);
  return absl::OkStatus();
}

raftpb::HardState Raft::GetHardState() const {
  raftpb::HardState hs;
  hs.set_term(term_);
  hs.set_vote(vote_);
  hs.set_commit(log_.committed());
  return hs;
}

// ---------------------------------------------------------------------------
// Transitions.

void Raft::Reset(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNone;
  }
  lead_ = kNone;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  trk_.ResetVotes();
  const uint64_t last = log_.LastIndex();
  trk_.Visit([&](uint64_t id, Progress& pr) {
    const bool learner = pr.is_learner;
    pr = trk_.NewProgress();
    pr.next = last + 1;
    pr.is_learner = learner;
    // Safe although the tail may not be durable yet: a candidate counts
    // its own vote only after persisting, and the log is persisted in order,
    // so every entry it holds when it wins is durable.
    if (id == id_) pr.match = last;
  });
  pending_conf_index_ = 0;
  uncommitted_size_ = 0;
  read_only_ = ReadOnly(read_only_.option());
  read_index_broadcast_pending_ = false;
}

void Raft::ResetRandomizedElectionTimeout() {
  // §5.2: randomized timeouts make split votes rare.
  randomized_election_timeout_ =
      election_timeout_ + static_cast<int>(prng_.Uniform(election_timeout_));
}

void Raft::BecomeFollower(uint64_t term, uint64_t lead) {
  Reset(term);
  lead_ = lead;
  state_ = StateType::kFollower;
  pending_read_index_messages_.clear();
}

void Raft::BecomeCandidate() {
  CHECK(state_ != StateType::kLeader) << "a leader never becomes a candidate";
  Reset(term_ + 1);
  vote_ = id_;
  state_ = StateType::kCandidate;
}

void Raft::BecomePreCandidate() {
  CHECK(state_ != StateType::kLeader)
      << "a leader never becomes a pre-candidate";
  // Thesis §9.6: a pre-candidate changes neither its term nor its vote.
  trk_.ResetVotes();
  lead_ = kNone;
  state_ = StateType::kPreCandidate;
}

void Raft::BecomeLeader() {
  CHECK(state_ != StateType::kFollower)
      << "a follower becomes leader only through candidacy";
  Reset(term_);
  lead_ = id_;
  state_ = StateType::kLeader;
  auto it = trk_.progress.find(id_);
  CHECK(it != trk_.progress.end()) << "a leader is in its own configuration";
  it->second.BecomeReplicate();
  // The leader is always active to itself; CheckQuorum keeps it so.
  it->second.recent_active = true;
  // Conservatively: a conf change may be pending in the uncommitted tail,
  // so refuse new ones until everything now in the log is applied.
  pending_conf_index_ = log_.LastIndex();
  // §5.4.2 / thesis §6.4: an empty entry of the new term lets the leader
  // commit (and learn the commit index) without waiting for a proposal.
  std::vector<raftpb::Entry> empty(1);
  CHECK(AppendEntry(std::move(empty)))
      << "an empty entry never exceeds the uncommitted size cap";
}

// ---------------------------------------------------------------------------
// The clock.

void Raft::Tick() {
  if (state_ == StateType::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (Promotable() && PastElectionTimeout()) {
    election_elapsed_ = 0;
    raftpb::Message m;
    m.set_type(raftpb::MsgHup);
    m.set_from(id_);
    (void)Step(std::move(m));
  }
}

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= election_timeout_) {
    election_elapsed_ = 0;
    if (check_quorum_) CheckQuorum();
    // A transfer that did not finish within an election timeout is
    // abandoned, and the leader takes proposals again.
    if (state_ == StateType::kLeader && lead_transferee_ != kNone) {
      AbortLeaderTransfer();
    }
  }
  if (state_ != StateType::kLeader) return;
  if (heartbeat_elapsed_ >= heartbeat_timeout_) {
    heartbeat_elapsed_ = 0;
    BcastHeartbeat();
  }
}

bool Raft::PastElectionTimeout() const {
  return election_elapsed_ >= randomized_election_timeout_;
}

// Whether this node may campaign: a voter, not waiting to apply a snapshot.
bool Raft::Promotable() const {
  auto it = trk_.progress.find(id_);
  return it != trk_.progress.end() && !it->second.is_learner &&
         !log_.HasUnstableSnapshot();
}

bool Raft::HasUnappliedConfChanges() const {
  if (log_.applied() >= log_.committed()) return false;
  absl::StatusOr<std::vector<raftpb::Entry>> ents =
      log_.Slice(log_.applied() + 1, log_.committed() + 1, kNoLimit);
  // Compacted: a snapshot not yet applied covers them; its configuration
  // is not known to be in effect either.
  if (!ents.ok()) return true;
  for (const raftpb::Entry& e : *ents) {
    if (e.type() == raftpb::EntryConfChange ||
        e.type() == raftpb::EntryConfChangeV2) {
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// Elections.

void Raft::Hup(const char* campaign_type) {
  if (state_ == StateType::kLeader) return;
  if (!Promotable()) return;
  // A node that has not applied a committed conf change does not know its
  // configuration yet, so it may not campaign (thesis §4.1).
  if (HasUnappliedConfChanges()) return;
  Campaign(campaign_type);
}

void Raft::Campaign(const char* campaign_type) {
  raftpb::MessageType vote_type;
  uint64_t term;
  if (std::strcmp(campaign_type, kCampaignPreElection) == 0) {
    BecomePreCandidate();
    vote_type = raftpb::MsgPreVote;
    // Thesis §9.6: ask with the term we would have, without taking it.
    term = term_ + 1;
  } else {
    BecomeCandidate();
    vote_type = raftpb::MsgVote;
    term = term_;
  }
  const EntryId last = log_.LastEntryId();
  for (uint64_t id : trk_.VoterNodes()) {
    raftpb::Message m;
    m.set_to(id);
    m.set_term(term);
    if (id == id_) {
      // Our own vote counts once it is durable: it comes back to us after
      // the persist of this Ready.
      m.set_type(VoteResponseType(vote_type));
      Send(std::move(m));
      continue;
    }
    m.set_type(vote_type);
    m.set_index(last.index);
    m.set_log_term(last.term);
    if (std::strcmp(campaign_type, kCampaignTransfer) == 0) {
      m.set_context(kCampaignTransfer);
    }
    Send(std::move(m));
  }
}

VoteResult Raft::Poll(uint64_t id, bool granted) {
  trk_.RecordVote(id, granted);
  return trk_.TallyVotes().result;
}

void Raft::Send(raftpb::Message m) {
  if (m.from() == kNone) m.set_from(id_);
  const raftpb::MessageType t = m.type();
  if (t == raftpb::MsgVote || t == raftpb::MsgVoteResp ||
      t == raftpb::MsgPreVote || t == raftpb::MsgPreVoteResp) {
    CHECK_NE(m.term(), 0u) << "vote messages carry their term";
  } else if (t != raftpb::MsgProp && t != raftpb::MsgReadIndex) {
    // Proposals and read requests forwarded to the leader stay term-less:
    // they are local requests, valid in any term.
    m.set_term(term_);
  }
  // A response that claims a persisted log or vote waits for the persist.
  const bool early_ack = bugs_.ack_append_before_persist &&
                         t == raftpb::MsgAppResp && m.to() != id_;
  if (!early_ack && (t == raftpb::MsgAppResp || t == raftpb::MsgVoteResp ||
                     t == raftpb::MsgPreVoteResp)) {
    msgs_after_append_.push_back(std::move(m));
  } else {
    CHECK_NE(m.to(), id_) << "only deferred responses are self-addressed";
    msgs_.push_back(std::move(m));
  }
}

// ---------------------------------------------------------------------------
// Application feedback.

absl::StatusOr<raftpb::ConfState> Raft::ApplyConfChange(
    const raftpb::ConfChangeV2& change) {
  Changer changer(trk_, log_.LastIndex());
  const std::vector<raftpb::ConfChangeSingle> changes(
      change.changes().begin(), change.changes().end());
  absl::StatusOr<ConfChangeResult> result;
  bool auto_leave = false;
  if (LeaveJoint(change)) {
    result = changer.LeaveJoint();
  } else if (EnterJoint(change, &auto_leave)) {
    result = changer.EnterJoint(auto_leave, changes);
  } else {
    result = changer.Simple(changes);
  }
  if (!result.ok()) return result.status();
  return SwitchToConfig(std::move(result->config),
                        std::move(result->progress));
}

void Raft::AppliedTo(uint64_t index, uint64_t applied_size) {
  const uint64_t applied = std::max(index, log_.applied());
  log_.AppliedTo(applied);
  ReduceUncommittedSize(applied_size);
  // Thesis §4.3: leave an auto-leave joint configuration once it is
  // applied. An empty ConfChangeV2 has no payload, so the size cap never
  // refuses it; a transfer in progress may, and then we retry on the next
  // apply.
  if (trk_.config.auto_leave && applied >= pending_conf_index_ &&
      state_ == StateType::kLeader) {
    raftpb::Message m;
    m.set_type(raftpb::MsgProp);
    m.set_from(id_);
    m.add_entries()->set_type(raftpb::EntryConfChangeV2);
    (void)Step(std::move(m));
  }
}

void Raft::AppliedSnapshot(uint64_t index) {
  log_.StableSnapTo(index);
  AppliedTo(index, 0);
}

void Raft::CheckInvariants() const {
  log_.CheckInvariants();
  trk_.CheckInvariants();
  read_only_.CheckInvariants();
  if (state_ == StateType::kLeader) {
    CHECK_EQ(lead_, id_) << "a leader knows itself as leader";
    CHECK(trk_.progress.contains(id_)) << "a leader is in its configuration";
  }
  if (state_ == StateType::kCandidate) {
    CHECK_EQ(vote_, id_) << "a candidate votes for itself";
  }
  if (state_ != StateType::kLeader) {
    CHECK_EQ(lead_transferee_, kNone) << "only a leader transfers leadership";
    CHECK(pending_read_index_messages_.empty())
        << "only a leader holds back read requests";
  }
  if (lead_ == id_) {
    CHECK(state_ == StateType::kLeader) << "we are our leader only as leader";
  }
  CHECK_GE(randomized_election_timeout_, election_timeout_)
      << "randomized election timeout is at least the election timeout";
  CHECK_LT(randomized_election_timeout_, 2 * election_timeout_)
      << "randomized election timeout is below twice the election timeout";
}

}  // namespace etcdpp::raft
