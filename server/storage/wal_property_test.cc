// Property: whatever the order in which the disk completes operations and
// wherever a crash falls (losing unsynced data, or keeping a torn prefix of
// it), recovery yields exactly the log as it stood after some prefix of the
// records written — and that prefix includes every batch the Wal reported
// durable. Several crash/recover/continue rounds per case, so repaired
// tails, sealed segments and leftover temp files get written over too.
#include <cstdint>
#include <memory>
#include <string>
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
// records one at a time.
struct ModelState {
  std::vector<raftpb::Entry> entries;
  raftpb::HardState hard_state;

  uint64_t last_index() const {
    return entries.empty() ? 0 : entries.back().index();
  }
  void Apply(const raftpb::Entry& entry) {
    while (!entries.empty() && entries.back().index() >= entry.index()) {
      entries.pop_back();
    }
    entries.push_back(entry);
  }
};

bool SameEntries(const std::vector<raftpb::Entry>& a,
                 const std::vector<raftpb::Entry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].SerializeAsString() != b[i].SerializeAsString()) return false;
  }
  return true;
}

bool Same(const ModelState& model, const WalContents& contents) {
  return SameEntries(model.entries, contents.entries) &&
         model.hard_state.SerializeAsString() ==
             contents.hard_state.SerializeAsString();
}

// One run from a base state to a crash.
class Round {
 public:
  Round(MemDisk* disk, Wal* wal, base::Prng* prng, ModelState base)
      : disk_(disk), wal_(wal), prng_(prng) {
    states_.push_back(std::move(base));
  }

  void Run(uint64_t* term) {
    const uint64_t steps = prng_->InRange(1, 40);
    for (uint64_t i = 0; i < steps; ++i) {
      if (prng_->OneIn(2)) {
        AppendBatch(term);
      } else {
        CompleteSome();
      }
      Deliver();
    }
  }

  // Checks what recovery returned against the model.
  void Check(const WalContents& contents) const {
    for (size_t k = durable_records_; k < states_.size(); ++k) {
      if (Same(states_[k], contents)) return;
    }
    RC_FAIL(absl::StrCat(
        "recovered ", contents.entries.size(), " entries (last index ",
        contents.entries.empty() ? 0 : contents.entries.back().index(),
        ", commit ", contents.hard_state.commit(),
        ") match no state after record ", durable_records_, " of ",
        states_.size() - 1));
  }

 private:
  void AppendBatch(uint64_t* term) {
    if (prng_->OneIn(4)) ++*term;
    ModelState state = states_.back();
    WalBatch batch;
    // Start at the end or rewrite a few of the last entries (a conflict).
    const uint64_t last = state.last_index();
    const uint64_t first = prng_->InRange(last > 2 ? last - 2 : 1, last + 1);
    const uint64_t count = prng_->InRange(0, 4);
    for (uint64_t index = first; index < first + count; ++index) {
      raftpb::Entry entry;
      entry.set_index(index);
      entry.set_term(*term);
      entry.set_data(std::string(prng_->InRange(0, 300),
                                 static_cast<char>('a' + index % 26)));
      batch.entries.push_back(entry);
      state.Apply(entry);
      states_.push_back(state);
    }
    if (prng_->OneIn(2)) {
      raftpb::HardState hs;
      hs.set_term(*term);
      hs.set_vote(prng_->InRange(1, 3));
      hs.set_commit(prng_->InRange(0, state.last_index()));
      batch.hard_state = hs;
      state.hard_state = hs;
      states_.push_back(state);
    }
    batches_.push_back({wal_->Append(batch), states_.size() - 1});
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
    for (const auto& [batch_id, records] : batches_) {
      if (wal_->IsDurable(batch_id)) durable_records_ = records;
    }
  }

  MemDisk* disk_;
  Wal* wal_;
  base::Prng* prng_;
  std::vector<ModelState> states_;  // states_[k]: after k records
  std::vector<std::pair<uint64_t, size_t>> batches_;  // id, records after
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
  ModelState base;
  uint64_t term = 1;
  const uint64_t rounds = prng.InRange(1, 3);
  for (uint64_t r = 0; r < rounds; ++r) {
    Round round(&disk, wal->get(), &prng, base);
    round.Run(&term);
    if (prng.OneIn(2)) {
      disk.Crash();
    } else {
      disk.CrashTorn(prng);
    }
    absl::StatusOr<WalContents> contents = ReadAll(disk, 0);
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
    base = ModelState{contents->entries, contents->hard_state};
    wal = Wal::Open(&disk, options, *contents);
    if (!wal.ok()) RC_FAIL(wal.status().ToString());
  }
}

}  // namespace
}  // namespace etcdpp::storage
