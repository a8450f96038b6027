#include "server/node/node.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "kv/snapshot.h"
#include "server/node/errors.h"
#include "server/storage/snapshot_file.h"

namespace etcdpp::server {

absl::StatusOr<std::unique_ptr<Node>> Node::Open(NodeOptions options,
                                                 storage::Disk* disk) {
  std::unique_ptr<Node> node(new Node(std::move(options), disk));
  if (absl::Status s = disk->Lock(); !s.ok()) return s;
  if (absl::Status s = node->Recover(); !s.ok()) return s;
  // Snapshots the transport was receiving when the last run ended.
  absl::StatusOr<std::vector<std::string>> names = disk->List();
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (absl::StartsWith(name, "peer-") && absl::EndsWith(name, ".snap.tmp")) {
      node->SubmitOwn(storage::RemoveOp{name});
    }
  }
  return node;
}

Node::Node(NodeOptions options, storage::Disk* disk)
    : options_(std::move(options)),
      disk_(disk),
      prng_(options_.seed),
      applier_(std::make_unique<kv::Applier>(options_.applier)),
      member_id_(options_.member_id),
      cluster_id_(options_.cluster_id),
      compactor_(options_.auto_compaction) {
  // 24 random bits on top: a restarted member, or another member, draws a
  // different prefix, so a proposal id never matches an older proposal's.
  next_proposal_id_ = (prng_.Next() & 0xffffff0000000000ULL) | 1;
}

absl::Status Node::Recover() {
  absl::StatusOr<storage::RecoveredState> state =
      storage::Recover(*disk_, options_.wal);
  if (absl::IsNotFound(state.status())) return Bootstrap();
  if (!state.ok()) return state.status();
  // As in etcd, an existing data dir wins over the flags.
  member_id_ = state->member.member_id;
  cluster_id_ = state->member.cluster_id;
  LogRecoveryWarnings(*state);
  wal_ = std::move(state->wal);
  raftpb::Snapshot snapshot;
  uint64_t applied = 0;
  if (state->snapshot.has_value()) {
    absl::StatusOr<uint64_t> restored =
        RestoreSnapshotFile(*state->snapshot, &snapshot);
    if (!restored.ok()) return restored.status();
    applied = *restored;
  } else if (state->wal_snapshot.has_value()) {
    *snapshot.mutable_metadata() = *state->wal_snapshot;
  } else if (absl::Status s = RecordInitialMembership(&snapshot); !s.ok()) {
    // A crash came after the member file but before the membership.
    return s;
  }
  if (absl::Status s = raft_storage_.ApplySnapshot(snapshot); !s.ok()) return s;
  if (!state->snapshot.has_value()) {
    members_ = MembersOfConfState(snapshot.metadata().conf_state(),
                                  options_.initial_members);
  }
  if (absl::Status s = raft_storage_.Append(std::move(state->entries));
      !s.ok()) {
    return s;
  }
  raft_storage_.SetHardState(state->hard_state);
  Log(base::LogLevel::kInfo,
      absl::StrCat("msg=\"recovered\" term=", state->hard_state.term(),
                   " commit=", state->hard_state.commit(),
                   " last_index=", raft_storage_.LastIndex()));
  // The kv state is rebuilt by applying the committed log after the
  // snapshot again.
  return StartRaft(applied);
}

void Node::LogRecoveryWarnings(const storage::RecoveredState& state) const {
  if (options_.member_id != 0 && options_.member_id != member_id_) {
    Log(base::LogLevel::kWarn,
        absl::StrCat("msg=\"data dir belongs to another member id; using "
                     "it\" data_dir_member=",
                     absl::Hex(member_id_),
                     " flags_member=", absl::Hex(options_.member_id)));
  }
  for (const absl::Status& skipped : state.skipped_snapshots) {
    Log(base::LogLevel::kWarn,
        absl::StrCat("msg=\"skipping corrupt snapshot\" error=\"",
                     skipped.message(), "\""));
  }
  if (state.torn_tail.has_value()) {
    Log(base::LogLevel::kWarn,
        absl::StrCat("msg=\"repaired torn WAL tail\" file=",
                     state.torn_tail->segment,
                     " offset=", state.torn_tail->offset));
  }
}

// Loads the kv state of a snapshot file found at recovery; the WAL after it
// is replayed. Fills the raft snapshot (the file name as its data) and
// returns its index.
absl::StatusOr<uint64_t> Node::RestoreSnapshotFile(
    const storage::SnapshotFile& file, raftpb::Snapshot* snapshot) {
  absl::StatusOr<SnapshotBody> body = DecodeSnapshotBody(file.body);
  if (!body.ok()) {
    return absl::DataLossError(absl::StrCat("node: snapshot ", file.name, ": ",
                                            body.status().message()));
  }
  members_ = body->members.has_value()
                 ? *body->members
                 : MembersOfConfState(file.metadata.conf_state(),
                                      options_.initial_members);
  kv::SnapshotReader reader(options_.applier);
  absl::Status added = reader.Add(body->kv);
  absl::StatusOr<kv::RestoredState> restored =
      added.ok() ? reader.Finish() : absl::StatusOr<kv::RestoredState>(added);
  if (!restored.ok()) {
    return absl::DataLossError(absl::StrCat("node: snapshot ", file.name,
                                            " does not restore: ",
                                            restored.status().message()));
  }
  if (restored->applied_index != file.metadata.index()) {
    return absl::DataLossError(
        absl::StrCat("node: snapshot ", file.name, " holds the state of index ",
                     restored->applied_index));
  }
  applier_ = std::move(restored->applier);
  ResetLessorClock();
  *snapshot->mutable_metadata() = file.metadata;
  snapshot->set_data(file.name);
  snapshot_index_ = file.metadata.index();
  Log(base::LogLevel::kInfo,
      absl::StrCat("msg=\"restored snapshot\" file=", file.name,
                   " index=", snapshot_index_));
  return snapshot_index_;
}

absl::Status Node::Bootstrap() {
  if (member_id_ == 0) {
    return absl::InvalidArgumentError("node: member id is 0");
  }
  if (options_.initial_voters.empty()) {
    return absl::FailedPreconditionError(
        "data dir was never bootstrapped and no initial cluster is given");
  }
  storage::WalMetadata member{member_id_, cluster_id_};
  absl::StatusOr<std::unique_ptr<storage::Wal>> wal =
      storage::Bootstrap(*disk_, options_.wal, member);
  if (!wal.ok()) return wal.status();
  wal_ = *std::move(wal);
  raftpb::Snapshot snapshot;
  if (absl::Status s = RecordInitialMembership(&snapshot); !s.ok()) return s;
  if (absl::Status s = raft_storage_.ApplySnapshot(snapshot); !s.ok()) return s;
  // A member joining a running cluster starts from the other members as
  // the configuration; the leader's log (or snapshot) then adds it.
  members_ = MembersOfConfState(snapshot.metadata().conf_state(),
                                options_.initial_members);
  Log(base::LogLevel::kInfo,
      absl::StrCat("msg=\"bootstrapping member\" voters=",
                   options_.initial_voters.size()));
  return StartRaft(/*applied=*/0);
}

// The initial membership is recorded as a snapshot marker at index 0, so
// every member of a new cluster starts from the same configuration; raft
// may act only once it is durable.
absl::Status Node::RecordInitialMembership(raftpb::Snapshot* snapshot) {
  if (options_.initial_voters.empty()) {
    return absl::FailedPreconditionError(
        "data dir has no membership and no initial cluster to start from");
  }
  raftpb::ConfState* conf = snapshot->mutable_metadata()->mutable_conf_state();
  std::vector<uint64_t> voters = options_.initial_voters;
  std::sort(voters.begin(), voters.end());
  for (uint64_t id : voters) conf->add_voters(id);
  std::vector<uint64_t> learners = options_.initial_learners;
  std::sort(learners.begin(), learners.end());
  for (uint64_t id : learners) conf->add_learners(id);
  storage::WalBatch batch;
  batch.snapshot = snapshot->metadata();
  bootstrap_batch_ = wal_->Append(batch);
  return absl::OkStatus();
}

absl::Status Node::StartRaft(uint64_t applied) {
  raft::Config config;
  config.id = member_id_;
  config.election_ticks = options_.election_ticks;
  config.heartbeat_ticks = options_.heartbeat_ticks;
  config.seed = prng_.Next();
  config.storage = &raft_storage_;
  config.applied = applied;
  config.max_size_per_msg = options_.max_size_per_msg;
  config.max_inflight_msgs = options_.max_inflight_msgs;
  config.pre_vote = options_.pre_vote;
  config.check_quorum = options_.check_quorum;
  config.planted_bugs = options_.planted_bugs.raft;
  absl::StatusOr<std::unique_ptr<raft::RawNode>> raw =
      raft::RawNode::Create(config);
  if (!raw.ok()) return raw.status();
  raw_ = *std::move(raw);
  applied_index_ = applied;
  absl::StatusOr<raft::InitialState> initial = raft_storage_.GetInitialState();
  if (!initial.ok()) return initial.status();
  conf_state_ = initial->conf_state;
  return absl::OkStatus();
}

// ---- Inputs ----------------------------------------------------------------

void Node::Propose(uint64_t request_id, kvpb::InternalRequest request) {
  if (halted_) return;
  if (IsLearner()) return Reply(request_id, NotSupportedForLearnerError());
  const uint64_t id = next_proposal_id_++;
  request.mutable_header()->set_id(id);
  FillProposal(id, &request);
  absl::Status s = raw_->Propose(request.SerializeAsString());
  if (!s.ok()) {
    Reply(request_id, ProposalError(s));
  } else {
    pending_writes_[id] =
        PendingWrite{request_id, tick_ + options_.request_timeout_ticks};
  }
  Pump();
}

bool Node::IsLearner() const {
  const etcdserverpb::Member* self = members_.Find(member_id_);
  return self != nullptr && self->islearner();
}

void Node::ProposeOwn(kvpb::InternalRequest request) {
  request.mutable_header()->set_id(next_proposal_id_++);
  // Nobody waits: a proposal lost to a leader change is simply retried by
  // whoever decides again later.
  (void)raw_->Propose(request.SerializeAsString());
}

void Node::MaybeAutoCompact() {
  std::optional<int64_t> revision = compactor_.Tick(
      applier_->store().current_revision(),
      raw_->raft().state() == raft::StateType::kLeader);
  if (!revision.has_value()) return;
  // A revision already compacted would only fail at apply.
  if (*revision <= applier_->store().compact_revision()) return;
  Log(base::LogLevel::kInfo,
      absl::StrCat("auto compaction: proposing compaction to revision ",
                   *revision));
  kvpb::InternalRequest request;
  request.mutable_compaction()->set_revision(*revision);
  ProposeOwn(std::move(request));
}

void Node::Read(uint64_t request_id, etcdserverpb::RangeRequest request) {
  if (halted_) return;
  if (request.serializable() ||
      (options_.planted_bugs.serve_read_locally_on_deposed_leader &&
       GetStatus().is_leader)) {
    absl::StatusOr<etcdserverpb::RangeResponse> range =
        applier_->store().Range(request);
    kvpb::InternalResponse response;
    if (range.ok()) *response.mutable_range() = *std::move(range);
    Reply(request_id, range.status(), std::move(response));
    return;
  }
  if (IsLearner()) return Reply(request_id, NotSupportedForLearnerError());
  reads_waiting_.push_back(PendingRead{request_id, std::move(request),
                                       tick_ + options_.request_timeout_ticks,
                                       std::nullopt});
  MaybeStartReadRound();
  Pump();
}

void Node::Step(const raftpb::Message& message) {
  if (halted_) return;
  // Impossible or stale peer input is dropped and counted by raft.
  (void)raw_->Step(message);
  Pump();
}

void Node::Tick() {
  if (halted_) return;
  ++tick_;
  raw_->Tick();
  MaybeAutoCompact();
  LeaseTick();
  applier_->TickAuthTokens();
  ExpireRequests();
  MaybePublishAttributes();
  MaybeStartReadRound();
  Pump();
}

void Node::DiskDone(uint64_t op_id, const absl::Status& status) {
  if (halted_) return;
  if (own_ops_.erase(op_id) > 0) {
    OwnDiskDone(op_id, status);
    Pump();
    return;
  }
  if (!wal_->OwnsOp(op_id)) return;
  if (absl::Status s = wal_->OnDiskDone(op_id, status); !s.ok()) {
    // After a failed write or fsync the page cache can no longer be
    // trusted (DESIGN.md): stop rather than serve from it.
    return Halt(s);
  }
  if (bootstrap_batch_.has_value() && wal_->IsDurable(*bootstrap_batch_)) {
    bootstrap_batch_.reset();
  }
  if (in_flight_.has_value() && wal_->IsDurable(in_flight_->wal_batch)) {
    raft::Ready ready = std::move(in_flight_->ready);
    in_flight_.reset();
    FinishReady(std::move(ready));
  }
  Pump();
}

void Node::ReportUnreachable(uint64_t peer) {
  if (halted_) return;
  raw_->ReportUnreachable(peer);
  Pump();
}

void Node::ReportSnapshot(uint64_t peer, bool ok) {
  if (halted_) return;
  streaming_snapshots_.erase(peer);
  raw_->ReportSnapshot(peer, ok ? raft::SnapshotStatus::kFinish
                                : raft::SnapshotStatus::kFailure);
  Pump();
}

uint64_t Node::MostCaughtUpVoter() const {
  const raft::Status status = raw_->GetStatus();
  uint64_t best = 0;
  uint64_t best_match = 0;
  for (const auto& [id, progress] : status.progress) {
    if (id == member_id_ || progress.is_learner) continue;
    if (best == 0 || progress.match > best_match) {
      best = id;
      best_match = progress.match;
    }
  }
  return best;
}

bool Node::TransferLeadershipAway() {
  if (halted_ || !GetStatus().is_leader) return false;
  const uint64_t best = MostCaughtUpVoter();
  if (best == 0) return false;
  raw_->TransferLeader(best);
  Pump();
  return true;
}

std::string Node::EncodedSnapshotBody() const {
  // The member list, then the kv state (membership.h).
  std::string body = EncodeSnapshotBody(members_, "");
  kv::SnapshotWriter writer(*applier_, applied_index_);
  for (std::string chunk; writer.Next(&chunk);) body += chunk;
  return body;
}

void Node::MoveLeader(uint64_t request_id, uint64_t transferee) {
  if (halted_) return Reply(request_id, StoppingError());
  if (raw_->raft().state() != raft::StateType::kLeader) {
    return Reply(request_id, NotLeaderError());
  }
  if (transferee == member_id_) return Reply(request_id, absl::OkStatus());
  const raft::Status status = raw_->GetStatus();
  auto it = status.progress.find(transferee);
  if (it == status.progress.end() || it->second.is_learner) {
    return Reply(request_id, BadLeaderTransfereeError());
  }
  raw_->TransferLeader(transferee);
  pending_transfers_.push_back(
      PendingTransfer{request_id, transferee,
                      tick_ + options_.request_timeout_ticks});
  Pump();
}

void Node::SettleTransfers() {
  std::vector<PendingTransfer> waiting;
  for (PendingTransfer& t : pending_transfers_) {
    if (leader_ == t.transferee) {
      Reply(t.request_id, absl::OkStatus());
    } else if (t.deadline_tick <= tick_) {
      Reply(t.request_id, LeaderTransferTimeoutError());
    } else {
      waiting.push_back(t);
    }
  }
  pending_transfers_ = std::move(waiting);
}

NodeOutput Node::TakeOutput() { return std::exchange(output_, NodeOutput{}); }

// ---- The Ready loop ---------------------------------------------------------

void Node::Pump() {
  while (!halted_ && !in_flight_.has_value() && !bootstrap_batch_.has_value() &&
         raw_->HasReady()) {
    raft::Ready ready = raw_->GetReady();
    if (received_.has_value() && received_->stepped &&
        !ready.snapshot.has_value()) {
      received_.reset();  // raft turned the received snapshot down
    }
    if (ready.soft_state.has_value() &&
        ready.soft_state->lead != leader_) {
      leader_ = ready.soft_state->lead;
      Log(base::LogLevel::kInfo,
          absl::StrCat("msg=\"leader changed\" leader=", absl::Hex(leader_),
                       " term=", raw_->raft().term()));
      SettleTransfers();
    }
    if (ready.soft_state.has_value()) MaybeDemoteLessor();
    // A leader's appends go out while it persists the same entries.
    for (raftpb::Message& m : ready.messages) Emit(std::move(m));
    ready.messages.clear();
    if (ready.entries.empty() && !ready.hard_state.has_value() &&
        !ready.snapshot.has_value()) {
      FinishReady(std::move(ready));
      continue;
    }
    storage::WalBatch batch;
    if (ready.snapshot.has_value()) batch.snapshot = ready.snapshot->metadata();
    batch.entries = ready.entries;
    batch.hard_state = ready.hard_state;
    const uint64_t id = wal_->Append(batch);
    in_flight_ = InFlight{std::move(ready), id};
  }
  if (removed_ && !halted_) FinishRemoval();
}

void Node::FinishReady(raft::Ready ready) {
  if (ready.snapshot.has_value()) {
    // Its WAL marker is durable, and its file was before raft saw it.
    RestoreSnapshot(*ready.snapshot);
    if (halted_) return;
  }
  CHECK_OK(raft_storage_.Append(std::move(ready.entries)));
  if (ready.hard_state.has_value()) {
    raft_storage_.SetHardState(*ready.hard_state);
  }
  // Durable now: acknowledgements and votes may leave.
  for (raftpb::Message& m : ready.messages_after_persist) Emit(std::move(m));
  ApplyEntries(ready.committed_entries);
  MaybeTakeSnapshot();
  OnReadStates(ready.read_states);
  raw_->Advance();
  ServeReads();
}

void Node::ApplyEntries(const std::vector<raftpb::Entry>& entries) {
  for (const raftpb::Entry& entry : entries) {
    if (halted_) return;
    CHECK_EQ(entry.index(), applied_index_ + 1)
        << "entries are applied in log order, each once";
    switch (entry.type()) {
      case raftpb::EntryNormal:
        ApplyNormal(entry);
        break;
      case raftpb::EntryConfChange:
      case raftpb::EntryConfChangeV2:
        ApplyConfChange(entry);
        break;
      default:
        return Halt(absl::DataLossError(absl::StrCat(
            "node: committed entry ", entry.index(), " has unknown type ",
            entry.type())));
    }
    applied_index_ = entry.index();
  }
}

void Node::ApplyNormal(const raftpb::Entry& entry) {
  if (entry.data().empty()) {  // a new leader's empty entry
    MaybePromoteLessor(entry.term());
    return;
  }
  if (IsAttributesEntry(entry.data())) return ApplyAttributes(entry);
  kvpb::InternalRequest request;
  if (!request.ParseFromString(entry.data())) {
    return Halt(absl::DataLossError(absl::StrCat(
        "node: committed entry ", entry.index(), " does not parse")));
  }
  kv::ApplyResult result = applier_->Apply(request);
  // A second copy of a proposal (the network may deliver a forwarded MsgProp
  // twice): the applier skipped it, and the original was the answer.
  if (result.duplicate) return;
  for (mvccpb::Event& event : result.events) {
    output_.events.push_back(std::move(event));
  }
  auto it = pending_writes_.find(request.header().id());
  if (it == pending_writes_.end()) return;  // proposed elsewhere, or timed out
  const uint64_t request_id = it->second.request_id;
  pending_writes_.erase(it);
  Reply(request_id, std::move(result.status), std::move(result.response));
}

void Node::ApplyConfChange(const raftpb::Entry& entry) {
  absl::StatusOr<raftpb::ConfState> conf;
  if (entry.type() == raftpb::EntryConfChange) {
    raftpb::ConfChange change;
    if (!change.ParseFromString(entry.data())) {
      return Halt(absl::DataLossError(absl::StrCat(
          "node: committed conf change ", entry.index(), " does not parse")));
    }
    // Checked again against the replicated member list, as etcd does: a
    // change that raced another one, or a duplicated proposal, is applied
    // as no change at all (node id 0), on every replica alike.
    const absl::Status valid = ValidateConfChange(change);
    raftpb::ConfChange effective = change;
    if (!valid.ok()) effective.set_node_id(0);
    conf = raw_->ApplyConfChange(effective);
    if (conf.ok()) conf_state_ = *conf;
    OnConfChangeApplied(change, conf.status(), valid);
  } else {
    raftpb::ConfChangeV2 change;
    if (!change.ParseFromString(entry.data())) {
      return Halt(absl::DataLossError(absl::StrCat(
          "node: committed conf change ", entry.index(), " does not parse")));
    }
    conf = raw_->ApplyConfChange(change);
  }
  if (conf.ok()) conf_state_ = *conf;
  // A refused change (e.g. removing the last voter) changes nothing, on
  // every replica alike.
  if (!conf.ok()) {
    Log(base::LogLevel::kWarn,
        absl::StrCat("msg=\"conf change refused\" index=", entry.index(),
                     " error=\"", conf.status().message(), "\""));
  }
}

// ---- Snapshots ----------------------------------------------------------------

void Node::RetainSnapshots() {
  std::set<std::string> spared;
  for (const auto& [peer, file] : streaming_snapshots_) spared.insert(file);
  for (const auto& [op, file] : removing_snapshots_) spared.insert(file);
  absl::StatusOr<std::vector<storage::SubmittedRemoval>> removals =
      storage::RetainSnapshots(*disk_, options_.snapshots_to_keep, spared);
  if (!removals.ok()) return Halt(removals.status());
  for (storage::SubmittedRemoval& r : *removals) {
    own_ops_.insert(r.op_id);
    removing_snapshots_[r.op_id] = std::move(r.name);
  }
}

void Node::Emit(raftpb::Message message) {
  if (message.type() == raftpb::MsgSnap) {
    if (!SnapshotServesPeer(message)) return;
    // Raft made this message before a newer snapshot was installed (it
    // waited out a Ready in flight), and retention may have removed its
    // file since: raft sends the newest one instead (sim seed 18514).
    if (message.snapshot().metadata().index() < snapshot_index_) {
      raw_->ReportSnapshot(message.to(), raft::SnapshotStatus::kFailure);
      return;
    }
    // The raft snapshot carries the file name only; the driver streams
    // the file after the message.
    std::string file_name = message.snapshot().data();
    streaming_snapshots_[message.to()] = file_name;
    output_.snapshots.push_back(
        SnapshotToSend{std::move(message), std::move(file_name)});
    return;
  }
  output_.messages.push_back(std::move(message));
}

uint64_t Node::SubmitOwn(storage::DiskOp op) {
  const uint64_t id = disk_->Submit(std::move(op));
  own_ops_.insert(id);
  return id;
}

void Node::MaybeTakeSnapshot() {
  if (halted_ || snapshot_save_.has_value() || applied_index_ == 0) return;
  if (applied_index_ - snapshot_index_ < options_.snapshot_count &&
      !(snapshot_for_new_member_ && applied_index_ > snapshot_index_)) {
    return;
  }
  snapshot_for_new_member_ = false;
  absl::StatusOr<uint64_t> term = raft_storage_.Term(applied_index_);
  if (!term.ok()) return;  // not in the log any more: a snapshot covers it
  raftpb::SnapshotMetadata metadata;
  metadata.set_index(applied_index_);
  metadata.set_term(*term);
  *metadata.mutable_conf_state() = conf_state_;
  // Between applies, so the state cannot change under the writer.
  const std::string body = EncodedSnapshotBody();
  const std::vector<uint64_t> ops =
      storage::SaveSnapshotFile(*disk_, metadata, body);
  own_ops_.insert(ops.begin(), ops.end());
  snapshot_save_ = SnapshotSave{metadata, ops.back()};
  Log(base::LogLevel::kInfo,
      absl::StrCat("msg=\"saving snapshot\" index=", metadata.index(),
                   " term=", metadata.term(), " bytes=", body.size()));
}

void Node::OwnDiskDone(uint64_t op_id, const absl::Status& status) {
  removing_snapshots_.erase(op_id);
  if (!status.ok()) {
    // As for the WAL: after a failed write the page cache cannot be
    // trusted.
    return Halt(absl::Status(
        status.code(), absl::StrCat("node: snapshot file: ", status.message())));
  }
  if (snapshot_save_.has_value() && op_id == snapshot_save_->last_op) {
    OnSnapshotSaved();
  }
  if (received_.has_value() && !received_->stepped &&
      op_id == received_->last_op) {
    OnReceivedSnapshotDurable();
  }
}

void Node::OnSnapshotSaved() {
  const raftpb::SnapshotMetadata metadata = std::move(snapshot_save_->metadata);
  snapshot_save_.reset();
  const uint64_t index = metadata.index();
  // The file is durable; the marker tells a reader of the WAL alone where
  // the log continues. Recovery does not wait for it: it loads the newest
  // snapshot file and replays the WAL after it.
  storage::WalBatch batch;
  batch.snapshot = metadata;
  wal_->Append(batch);
  if (index <= snapshot_index_) return;  // a received snapshot overtook it
  absl::StatusOr<raftpb::Snapshot> snapshot = raft_storage_.CreateSnapshot(
      index, &metadata.conf_state(),
      storage::SnapshotFileName(metadata.term(), index));
  if (!snapshot.ok()) {
    Log(base::LogLevel::kWarn,
        absl::StrCat("msg=\"snapshot not installed in the raft log\" index=",
                     index, " error=\"", snapshot.status().message(), "\""));
    return;
  }
  snapshot_index_ = index;
  if (index > options_.snapshot_catchup_entries) {
    const uint64_t compact = index - options_.snapshot_catchup_entries;
    if (compact >= raft_storage_.FirstIndex()) {
      absl::Status s = raft_storage_.Compact(compact);
      if (!s.ok() && !raft::IsCompacted(s)) return Halt(s);
    }
    // Only segments whose entries the raft log no longer serves: the
    // ones after the compact index stay readable at recovery too.
    wal_->ReleaseTo(compact);
  }
  RetainSnapshots();
  Log(base::LogLevel::kInfo,
      absl::StrCat("msg=\"saved snapshot\" index=", index,
                   " first_index=", raft_storage_.FirstIndex()));
}

void Node::SnapshotReceived(raftpb::Message message, std::string file_name) {
  if (halted_) return;
  auto drop = [&](const std::string& why) {
    Log(base::LogLevel::kWarn,
        absl::StrCat("msg=\"dropping received snapshot\" file=", file_name,
                     " from=", absl::Hex(message.from()), " reason=\"", why,
                     "\""));
    if (storage::ValidatePath(file_name).ok()) {
      SubmitOwn(storage::RemoveOp{file_name});
    }
  };
  if (message.type() != raftpb::MsgSnap || !message.has_snapshot()) {
    return drop("not a MsgSnap");
  }
  if (absl::Status s = storage::ValidatePath(file_name); !s.ok()) {
    return drop(std::string(s.message()));
  }
  const raftpb::SnapshotMetadata& metadata = message.snapshot().metadata();
  if (metadata.index() <= raw_->raft().log().committed()) {
    // Nothing to restore: raft answers with its commit index.
    drop("already committed");
    (void)raw_->Step(message);
    Pump();
    return;
  }
  if (received_.has_value()) return drop("another snapshot is in progress");
  absl::StatusOr<std::string> data = disk_->ReadFile(file_name);
  if (!data.ok()) return drop(std::string(data.status().message()));
  const std::string name =
      storage::SnapshotFileName(metadata.term(), metadata.index());
  absl::StatusOr<storage::SnapshotFile> file =
      storage::DecodeSnapshotFile(name, *data);
  data->clear();
  if (!file.ok()) return drop(std::string(file.status().message()));
  absl::StatusOr<SnapshotBody> body = DecodeSnapshotBody(file->body);
  if (!body.ok()) return drop(std::string(body.status().message()));
  kv::SnapshotReader reader(options_.applier);
  absl::Status added = reader.Add(body->kv);
  std::optional<MemberSet> members = std::move(body->members);
  file->body.clear();
  absl::StatusOr<kv::RestoredState> restored =
      added.ok() ? reader.Finish() : absl::StatusOr<kv::RestoredState>(added);
  if (!restored.ok()) return drop(std::string(restored.status().message()));
  if (restored->applied_index != metadata.index()) {
    return drop(absl::StrCat("the state is of index ",
                             restored->applied_index));
  }
  // Durable under its snapshot name before raft may act on it: sync,
  // rename, sync the directory.
  SubmitOwn(storage::SyncOp{file_name});
  SubmitOwn(storage::RenameOp{file_name, name});
  const uint64_t last = SubmitOwn(storage::SyncDirOp{});
  message.mutable_snapshot()->set_data(name);
  *message.mutable_snapshot()->mutable_metadata() = file->metadata;
  received_ = ReceivedSnapshot{std::move(message),
                               std::move(restored->applier),
                               std::move(members), last, false};
  Log(base::LogLevel::kInfo,
      absl::StrCat("msg=\"received snapshot\" file=", name));
}

void Node::OnReceivedSnapshotDurable() {
  received_->stepped = true;
  const uint64_t index = received_->message.snapshot().metadata().index();
  (void)raw_->Step(received_->message);
  // Raft hands the snapshot out in its next Ready unless it turned it down
  // (it had become stale); Pump drops the restored state then.
  Log(base::LogLevel::kDebug,
      absl::StrCat("msg=\"stepped received snapshot\" index=", index));
}

void Node::RestoreSnapshot(const raftpb::Snapshot& snapshot) {
  const uint64_t index = snapshot.metadata().index();
  std::unique_ptr<kv::Applier> applier;
  std::optional<MemberSet> members;
  if (received_.has_value() &&
      received_->message.snapshot().metadata().index() == index &&
      received_->message.snapshot().metadata().term() ==
          snapshot.metadata().term()) {
    applier = std::move(received_->applier);
    members = std::move(received_->members);
  } else {
    absl::StatusOr<storage::SnapshotFile> file =
        storage::LoadSnapshotFile(*disk_, snapshot.data());
    if (!file.ok()) return Halt(file.status());
    absl::StatusOr<SnapshotBody> body = DecodeSnapshotBody(file->body);
    if (!body.ok()) return Halt(body.status());
    members = std::move(body->members);
    kv::SnapshotReader reader(options_.applier);
    absl::Status added = reader.Add(body->kv);
    absl::StatusOr<kv::RestoredState> restored =
        added.ok() ? reader.Finish()
                   : absl::StatusOr<kv::RestoredState>(added);
    if (!restored.ok()) return Halt(restored.status());
    applier = std::move(restored->applier);
  }
  received_.reset();
  if (absl::Status s = raft_storage_.ApplySnapshot(snapshot); !s.ok()) {
    return Halt(s);
  }
  // Tokens are member-local, not in the snapshot: keep those still valid
  // under the restored auth state, as etcd keeps its token provider.
  applier->TakeAuthTokens(*applier_);
  applier_ = std::move(applier);
  // The events of this output so far were the old store's; the new one
  // holds them (or has compacted them), and watchers catch up from it.
  output_.events.clear();
  output_.store_replaced = true;
  ResetLessorClock();
  applied_index_ = index;
  snapshot_index_ = index;
  conf_state_ = snapshot.metadata().conf_state();
  SetMembers(members.has_value()
                 ? *std::move(members)
                 : MembersOfConfState(conf_state_, members_.List()));
  Log(base::LogLevel::kInfo,
      absl::StrCat("msg=\"restored received snapshot\" index=", index,
                   " term=", snapshot.metadata().term()));
  AnswerWritesInSnapshot();
  RetainSnapshots();
}

// This member's clients' writes that the snapshot applied never reach
// ApplyNormal here: their answers come from the results the applier
// remembers (kv/applier.h). Those it does not remember -- applied long ago,
// or answered with a response too long to keep -- time out, as in etcd.
void Node::AnswerWritesInSnapshot() {
  for (auto it = pending_writes_.begin(); it != pending_writes_.end();) {
    const kv::RememberedResult* result =
        it->second.membership ? nullptr : applier_->FindResult(it->first);
    if (result == nullptr) {
      ++it;
      continue;
    }
    kvpb::InternalResponse response;
    CHECK(response.ParseFromString(result->response))
        << "a remembered response parses (the snapshot reader checked it)";
    Reply(it->second.request_id, result->status, std::move(response));
    output_.replies.back().header.set_revision(result->revision);
    it = pending_writes_.erase(it);
  }
}

// ---- Linearizable reads -----------------------------------------------------

void Node::MaybeStartReadRound() {
  // A round raft has not answered within an election timeout was lost (a
  // leader change drops ReadIndex requests): its reads join a new round.
  bool unanswered = false;
  for (auto it = read_rounds_.begin(); it != read_rounds_.end();) {
    ReadRound& round = it->second;
    if (round.read_index.has_value() ||
        tick_ - round.started_tick < options_.election_ticks) {
      unanswered = unanswered || !round.read_index.has_value();
      ++it;
      continue;
    }
    for (PendingRead& r : round.reads) reads_waiting_.push_back(std::move(r));
    it = read_rounds_.erase(it);
  }
  // One round at a time while raft has not answered: another would only
  // add heartbeats, and the next round takes every read waiting.
  if (reads_waiting_.empty() || unanswered) return;
  const uint64_t round_id = next_read_round_++;
  std::string context(8, '\0');
  for (int i = 0; i < 8; ++i) context[i] = static_cast<char>(round_id >> (8 * i));
  absl::Status s = raw_->ReadIndex(context);
  if (!s.ok()) {
    for (PendingRead& r : reads_waiting_) Reply(r.request_id, NoLeaderError());
    reads_waiting_.clear();
    return;
  }
  ReadRound& round = read_rounds_[round_id];
  round.reads = std::move(reads_waiting_);
  round.started_tick = tick_;
  reads_waiting_.clear();
}

void Node::OnReadStates(const std::vector<raft::ReadState>& states) {
  for (const raft::ReadState& state : states) {
    if (state.request_ctx.size() != 8) continue;
    uint64_t round_id = 0;
    for (int i = 0; i < 8; ++i) {
      round_id |= uint64_t{static_cast<uint8_t>(state.request_ctx[i])}
                  << (8 * i);
    }
    auto it = read_rounds_.find(round_id);
    if (it != read_rounds_.end()) it->second.read_index = state.index;
  }
}

void Node::ServeReads() {
  for (auto it = read_rounds_.begin(); it != read_rounds_.end();) {
    const ReadRound& round = it->second;
    if (!round.read_index.has_value() || *round.read_index > applied_index_) {
      ++it;
      continue;
    }
    for (const PendingRead& read : round.reads) {
      if (read.renew_lease.has_value()) {
        RenewLease(read.request_id, *read.renew_lease);
        continue;
      }
      absl::StatusOr<etcdserverpb::RangeResponse> range =
          applier_->store().Range(read.request);
      kvpb::InternalResponse response;
      if (range.ok()) *response.mutable_range() = *std::move(range);
      Reply(read.request_id, range.status(), std::move(response));
    }
    it = read_rounds_.erase(it);
  }
  MaybeStartReadRound();
}

void Node::ExpireRequests() {
  SettleTransfers();
  for (auto it = pending_writes_.begin(); it != pending_writes_.end();) {
    if (it->second.deadline_tick > tick_) {
      ++it;
      continue;
    }
    Reply(it->second.request_id, TimeoutError());
    it = pending_writes_.erase(it);
  }
  for (auto& [id, round] : read_rounds_) {
    std::vector<PendingRead> live;
    for (PendingRead& r : round.reads) {
      if (r.deadline_tick > tick_) {
        live.push_back(std::move(r));
      } else {
        Reply(r.request_id, TimeoutError());
      }
    }
    round.reads = std::move(live);
  }
}

// ---- Helpers -----------------------------------------------------------------

void Node::Reply(uint64_t request_id, absl::Status status,
                 kvpb::InternalResponse response) {
  ClientReply reply;
  reply.request_id = request_id;
  reply.status = std::move(status);
  reply.response = std::move(response);
  reply.header = Header();
  output_.replies.push_back(std::move(reply));
}

etcdserverpb::ResponseHeader Node::Header() const {
  etcdserverpb::ResponseHeader header;
  header.set_cluster_id(cluster_id_);
  header.set_member_id(member_id_);
  header.set_revision(applier_->store().current_revision());
  header.set_raft_term(raw_->raft().term());
  return header;
}

absl::Status Node::ProposalError(const absl::Status& raft_status) const {
  if (raw_->raft().lead() == raft::kNone) return NoLeaderError();
  if (raw_->raft().lead_transferee() != raft::kNone) {
    return LeaderChangedError();
  }
  // What is left is the cap on uncommitted bytes: the leader is behind.
  if (absl::StrContains(raft_status.message(), "uncommitted")) {
    return TooManyRequestsError();
  }
  return absl::UnavailableError(raft_status.message());
}

void Node::Halt(absl::Status status) {
  if (halted_) return;
  halted_ = true;
  Log(base::LogLevel::kError,
      absl::StrCat("msg=\"halting\" error=\"", status.ToString(), "\""));
  output_.halt = std::move(status);
}

void Node::Log(base::LogLevel level, const std::string& message) const {
  if (options_.log != nullptr) options_.log->Write(level, message);
}

NodeStatus Node::GetStatus() const {
  NodeStatus status;
  status.member_id = member_id_;
  status.cluster_id = cluster_id_;
  status.leader = raw_->raft().lead();
  status.term = raw_->raft().term();
  status.commit_index = raw_->raft().log().committed();
  status.applied_index = applied_index_;
  status.last_index = raw_->raft().log().LastIndex();
  status.revision = applier_->store().current_revision();
  status.is_leader = raw_->raft().state() == raft::StateType::kLeader;
  status.is_learner = IsLearner();
  return status;
}

void Node::CheckInvariants() const {
  raw_->CheckInvariants();
  applier_->CheckInvariants();
  CHECK_LE(applied_index_, raw_->raft().log().committed())
      << "a node applies only committed entries";
}

}  // namespace etcdpp::server
