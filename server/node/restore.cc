#include "server/node/restore.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kv/snapshot.h"
#include "server/node/membership.h"
#include "server/storage/data_dir.h"
#include "server/storage/snapshot_file.h"

namespace etcdpp::server {
namespace {

// Takes every completion; the first failure, or OK.
absl::Status Drain(storage::Disk& disk, storage::Wal* wal) {
  absl::Status first = absl::OkStatus();
  for (std::vector<storage::DiskCompletion> done = disk.TakeCompletions();
       !done.empty(); done = disk.TakeCompletions()) {
    for (const storage::DiskCompletion& c : done) {
      absl::Status s = c.status;
      // The WAL's own ops: it may submit more (an fsync after a write).
      if (wal != nullptr && wal->OwnsOp(c.op_id)) {
        absl::Status owned = wal->OnDiskDone(c.op_id, c.status);
        if (s.ok()) s = owned;
      }
      if (first.ok() && !s.ok()) first = s;
    }
  }
  return first;
}

}  // namespace

absl::StatusOr<RestorePlan> PlanRestore(
    std::string_view backup_body,
    const std::vector<etcdserverpb::Member>& members,
    const std::vector<uint64_t>& voters) {
  absl::StatusOr<SnapshotBody> body = DecodeSnapshotBody(backup_body);
  if (!body.ok()) return body.status();
  // Restored once here to learn (and check) the index the state reflects.
  absl::StatusOr<kv::RestoredState> state =
      kv::RestoreSnapshot({std::string(body->kv)});
  if (!state.ok()) {
    return absl::DataLossError(
        absl::StrCat("backup does not restore: ", state.status().message()));
  }
  if (state->applied_index == 0) {
    return absl::InvalidArgumentError("backup holds no applied state");
  }
  RestorePlan plan;
  plan.metadata.set_index(state->applied_index);
  plan.metadata.set_term(1);
  std::vector<uint64_t> sorted = voters;
  std::sort(sorted.begin(), sorted.end());
  for (uint64_t id : sorted) plan.metadata.mutable_conf_state()->add_voters(id);
  plan.hard_state.set_term(1);
  plan.hard_state.set_commit(state->applied_index);
  plan.body = EncodeSnapshotBody(
      MembersOfConfState(plan.metadata.conf_state(), members), body->kv);
  return plan;
}

absl::Status WriteRestore(storage::Disk& disk,
                          const storage::WalOptions& options,
                          const storage::WalMetadata& member,
                          const RestorePlan& plan) {
  storage::SaveSnapshotFile(disk, plan.metadata, plan.body);
  if (absl::Status s = Drain(disk, nullptr); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<storage::Wal>> wal =
      storage::Bootstrap(disk, options, member);
  if (!wal.ok()) return wal.status();
  storage::WalBatch batch;
  batch.snapshot = plan.metadata;
  batch.hard_state = plan.hard_state;
  const uint64_t id = (*wal)->Append(batch);
  if (absl::Status s = Drain(disk, wal->get()); !s.ok()) return s;
  if (!(*wal)->IsDurable(id)) {
    return absl::InternalError("restore: the WAL record never became durable");
  }
  return absl::OkStatus();
}

}  // namespace etcdpp::server
