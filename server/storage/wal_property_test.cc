// Property: whatever the order in which the disk completes operations and
// wherever a crash falls (losing unsynced data, or keeping a torn prefix of
// it), recovery yields exactly the log as it stood after some prefix of the
// records written — and that prefix includes every batch the Wal reported
// durable. Along the way the writer takes snapshots (WAL markers) of
// durable entries and releases the segments they cover, and recovery
// replays after the last released snapshot. Several crash/recover/continue
// rounds per case, so repaired tails, sealed segments and leftover temp
// files get written over too.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/prng.h"
#include "gtest/gtest.h"
#include "raft/raft.pb.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "server/storage/disk.h"
#include "server/storage/mem_disk.h"
#include "server/storage/wal.h"
#include "server/storage/wal_reader.h"

namespace etcdpp::storage {
namespace {

// WalOptions with the given segment size, the rest default.
WalOptions Sized(uint64_t segment_size_bytes) {
  WalOptions options;
  options.segment_size_bytes = segment_size_bytes;
  return options;
}

// The naive model: the log and hard state raft would hold after replaying
// records one at a time. entries follow the snapshot at snapshot_index.
struct ModelState {
  uint64_t snapshot_index = 0;
  std::vector<raftpb::Entry> entries;
  raftpb::HardState hard_state;

  uint64_t last_index() const {
    return entries.empty() ? snapshot_index : entries.back().index();
  }
  void Apply(const raftpb::Entry& entry) {
    while (!entries.empty() && entries.back().index() >= entry.index()) {
      entries.pop_back();
    }
    entries.push_back(entry);
  }
};

// Whether contents, replayed after snapshot_index, is model's state.
bool Same(const ModelState& model, uint64_t snapshot_index,
          const WalContents& contents) {
  std::vector<const raftpb::Entry*> expected;
  for (const raftpb::Entry& e : model.entries) {
    if (e.index() > snapshot_index) expected.push_back(&e);
  }
  if (expected.size() != contents.entries.size()) return false;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i]->SerializeAsString() !=
        contents.entries[i].SerializeAsString()) {
      return false;
    }
  }
  return model.hard_state.SerializeAsString() ==
         contents.hard_state.SerializeAsString();
}

// What carries over from one round to the next.
struct Carry {
  ModelState base;
  uint64_t term = 1;
  uint64_t released = 0;  // recovery replays after this snapshot index
};

// One run from a base state to a crash.
class Round {
 public:
  Round(MemDisk* disk, Wal* wal, base::Prng* prng, Carry* carry)
      : disk_(disk), wal_(wal), prng_(prng), carry_(carry) {
    states_.push_back(carry->base);
    floor_ = carry->released;
  }

  void Run() {
    const uint64_t steps = prng_->InRange(1, 40);
    for (uint64_t i = 0; i < steps; ++i) {
      const uint64_t dice = prng_->Uniform(6);
      if (dice < 3) {
        AppendBatch();
      } else if (dice < 5) {
        CompleteSome();
      } else {
        MaybeSnapshot();
      }
      Deliver();
    }
  }

  // Checks what recovery returned against the model.
  void Check(const WalContents& contents) const {
    for (size_t k = durable_records_; k < states_.size(); ++k) {
      if (Same(states_[k], carry_->released, contents)) return;
    }
    RC_FAIL(absl::StrCat(
        "recovered ", contents.entries.size(), " entries (last index ",
        contents.entries.empty() ? 0 : contents.entries.back().index(),
        ", commit ", contents.hard_state.commit(), ") after snapshot ",
        carry_->released, " match no state after record ", durable_records_,
        " of ", states_.size() - 1));
  }

 private:
  void AppendBatch() {
    if (prng_->OneIn(4)) ++carry_->term;
    ModelState state = states_.back();
    WalBatch batch;
    // Start at the end or rewrite a few of the last entries (a conflict),
    // never at or below a snapshot: those entries are committed.
    const uint64_t last = state.last_index();
    const uint64_t low = std::max({last > 2 ? last - 2 : 1, floor_ + 1});
    const uint64_t first = prng_->InRange(low, last + 1);
    const uint64_t count = prng_->InRange(0, 4);
    for (uint64_t index = first; index < first + count; ++index) {
      raftpb::Entry entry;
      entry.set_index(index);
      entry.set_term(carry_->term);
      entry.set_data(std::string(prng_->InRange(0, 300),
                                 static_cast<char>('a' + index % 26)));
      batch.entries.push_back(entry);
      state.Apply(entry);
      states_.push_back(state);
    }
    if (prng_->OneIn(2)) {
      raftpb::HardState hs;
      hs.set_term(carry_->term);
      hs.set_vote(prng_->InRange(1, 3));
      hs.set_commit(prng_->InRange(0, state.last_index()));
      batch.hard_state = hs;
      state.hard_state = hs;
      states_.push_back(state);
    }
    batches_.push_back({wal_->Append(batch), states_.size() - 1});
  }

  // Snapshots an entry above the last snapshot that is durable and not
  // since rewritten (as raft snapshots only committed entries): a marker
  // batch, and the covered segments released once it is durable.
  void MaybeSnapshot() {
    const ModelState& durable = states_[durable_records_];
    const ModelState& latest = states_.back();
    std::vector<const raftpb::Entry*> candidates;
    for (const raftpb::Entry& e : durable.entries) {
      if (e.index() > floor_ && Holds(latest, e)) candidates.push_back(&e);
    }
    if (candidates.empty()) return;
    const raftpb::Entry& at = *candidates[prng_->Uniform(candidates.size())];
    WalBatch batch;
    batch.snapshot.emplace();
    batch.snapshot->set_index(at.index());
    batch.snapshot->set_term(at.term());
    floor_ = at.index();
    states_.push_back(states_.back());  // a marker changes no state
    const uint64_t id = wal_->Append(batch);
    batches_.push_back({id, states_.size() - 1});
    releases_.push_back({id, at.index()});
  }

  static bool Holds(const ModelState& state, const raftpb::Entry& entry) {
    if (state.entries.empty()) return false;
    const uint64_t first = state.entries.front().index();
    if (entry.index() < first || entry.index() > state.last_index()) {
      return false;
    }
    return state.entries[entry.index() - first].SerializeAsString() ==
           entry.SerializeAsString();
  }

  void CompleteSome() {
    if (disk_->pending_count() == 0) return;
    if (prng_->OneIn(2)) {
      disk_->Complete(prng_->InRange(1, disk_->pending_count()));
    } else {
      const std::vector<uint64_t> pending = disk_->PendingOps();
      disk_->CompleteOp(pending[prng_->Uniform(pending.size())]);
    }
  }

  void Deliver() {
    for (const DiskCompletion& c : disk_->TakeCompletions()) {
      RC_ASSERT(wal_->OnDiskDone(c.op_id, c.status).ok());
    }
    wal_->CheckInvariants();
    for (const auto& [batch_id, records] : batches_) {
      if (wal_->IsDurable(batch_id)) durable_records_ = records;
    }
    while (!releases_.empty() && wal_->IsDurable(releases_.front().first)) {
      wal_->ReleaseTo(releases_.front().second);
      carry_->released = releases_.front().second;
      releases_.erase(releases_.begin());
    }
  }

  MemDisk* disk_;
  Wal* wal_;
  base::Prng* prng_;
  Carry* carry_;
  uint64_t floor_ = 0;              // the newest snapshot index taken
  std::vector<ModelState> states_;  // states_[k]: after k records
  std::vector<std::pair<uint64_t, size_t>> batches_;     // id, records after
  std::vector<std::pair<uint64_t, uint64_t>> releases_;  // id, index
  size_t durable_records_ = 0;
};

RC_GTEST_PROP(WalPropertyTest, RecoveryYieldsAPrefixWithEveryDurableBatch,
              (uint64_t seed)) {
  base::Prng prng(seed);
  MemDisk disk;
  const uint64_t sizes[] = {512, 1024, 4096};
  const WalOptions options = Sized(sizes[prng.Uniform(3)]);
  const WalMetadata metadata{1, 2};
  absl::StatusOr<std::unique_ptr<Wal>> wal =
      Wal::Create(&disk, options, metadata);
  RC_ASSERT(wal.ok());
  Carry carry;
  const uint64_t rounds = prng.InRange(1, 3);
  for (uint64_t r = 0; r < rounds; ++r) {
    Round round(&disk, wal->get(), &prng, &carry);
    round.Run();
    if (prng.OneIn(2)) {
      disk.Crash();
    } else {
      disk.CrashTorn(prng);
    }
    absl::StatusOr<WalContents> contents = ReadAll(disk, carry.released);
    if (!contents.ok() && absl::IsNotFound(contents.status())) {
      // The crash came before the first segment was renamed into place:
      // nothing was ever durable.
      RC_ASSERT(r == 0);
      round.Check(WalContents{});
      return;
    }
    if (!contents.ok()) RC_FAIL(contents.status().ToString());
    round.Check(*contents);
    RC_ASSERT(contents->metadata == metadata);
    // Coverage probes: RapidCheck prints how often each rare path ran.
    RC_CLASSIFY(contents->segments.front().sequence > 0, "segments released");
    RC_CLASSIFY(contents->segments.size() > 1, "several segments");
    RC_CLASSIFY(contents->torn_tail.has_value(), "torn tail repaired");
    RC_CLASSIFY(contents->last_sealed, "crash in a segment switch");
    carry.base =
        ModelState{carry.released, contents->entries, contents->hard_state};
    wal = Wal::Open(&disk, options, *contents);
    if (!wal.ok()) RC_FAIL(wal.status().ToString());
  }
}

}  // namespace
}  // namespace etcdpp::storage
