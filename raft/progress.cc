#include "raft/progress.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace etcdpp::raft {

const char* ProgressStateName(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe:
      return "StateProbe";
    case ProgressState::kReplicate:
      return "StateReplicate";
    case ProgressState::kSnapshot:
      return "StateSnapshot";
  }
  return "StateUnknown";
}

void Progress::ResetState(ProgressState new_state) {
  msg_app_flow_paused = false;
  pending_snapshot = 0;
  state = new_state;
  inflights.Reset();
}

void Progress::BecomeProbe() {
  if (state == ProgressState::kSnapshot) {
    // The snapshot was sent (or at least tried): the follower may well have
    // it, so probe right after it rather than walking back from match.
    const uint64_t snapshot_index = pending_snapshot;
    ResetState(ProgressState::kProbe);
    next = std::max(match + 1, snapshot_index + 1);
  } else {
    ResetState(ProgressState::kProbe);
    next = match + 1;
  }
  pending_commit = std::min(pending_commit, next - 1);
}

void Progress::BecomeReplicate() {
  ResetState(ProgressState::kReplicate);
  next = match + 1;
  pending_commit = std::min(pending_commit, match);
}

void Progress::BecomeSnapshot(uint64_t snapshot_index) {
  ResetState(ProgressState::kSnapshot);
  pending_snapshot = snapshot_index;
}

void Progress::SentEntries(int entries, uint64_t bytes) {
  CHECK(state != ProgressState::kSnapshot)
      << "no entries are sent to a follower waiting for a snapshot";
  CHECK_GE(entries, 0) << "a message carries a non-negative entry count";
  // Only kReplicate pipelines: a probe's entries stay unacknowledged until
  // its answer, and next moves only when it is accepted.
  if (state == ProgressState::kReplicate && entries > 0) {
    next += static_cast<uint64_t>(entries);
    inflights.Add(next - 1, bytes);
  }
  msg_app_flow_paused = true;
}

void Progress::UpdateOnEntriesSend(int entries, uint64_t bytes,
                                   uint64_t next_index) {
  CHECK_EQ(next_index, next) << "entries are sent starting at next";
  SentEntries(entries, bytes);
}

bool Progress::CanSendEntries(uint64_t last_index) const {
  CHECK(state != ProgressState::kSnapshot)
      << "flow control of entries applies in kProbe and kReplicate only";
  if (next > last_index) return false;
  return state == ProgressState::kProbe || !inflights.Full();
}

bool Progress::CanBumpCommit(uint64_t commit) const {
  // The follower can only commit what it has, and at most next - 1 entries
  // are (or will be) there; a commit already sent needs no new message.
  return pending_commit < std::min(commit, next - 1);
}

void Progress::SentCommit(uint64_t commit) {
  pending_commit = std::min(std::max(pending_commit, commit), next - 1);
}

bool Progress::MaybeUpdate(uint64_t n) {
  if (n <= match) return false;
  match = n;
  next = std::max(next, n + 1);
  return true;
}

bool Progress::MaybeDecrTo(uint64_t rejected, uint64_t match_hint) {
  if (state == ProgressState::kReplicate) {
    // Everything up to match was acknowledged, so a rejection at or below it
    // comes from an older, reordered message.
    if (rejected <= match) return false;
    // Appends are pipelined, so the first unacknowledged one failed and all
    // after it will too: restart right after what is known to match.
    next = match + 1;
    pending_commit = std::min(pending_commit, match);
    return true;
  }
  // Outside kReplicate one append is sent at a time, at next - 1; a
  // rejection of any other index is stale. (Best effort: reordering is rare.)
  if (next - 1 != rejected) return false;
  // Jump to the follower's hint, but never behind what is known to match
  // nor forward past the rejected index.
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  pending_commit = std::min(pending_commit, next - 1);
  msg_app_flow_paused = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe:
      return msg_app_flow_paused;
    case ProgressState::kReplicate:
      return msg_app_flow_paused && inflights.Full();
    case ProgressState::kSnapshot:
      return true;
  }
  CHECK(false) << "a progress is in one of the three states";
  return true;
}

bool Progress::ShouldSendMsgApp(uint64_t last_index, uint64_t commit) const {
  switch (state) {
    case ProgressState::kProbe:
      return !msg_app_flow_paused;
    case ProgressState::kReplicate:
      // A message must still go out now and then while everything is in
      // flight, so that a lost append is eventually answered or rejected.
      if (CanBumpCommit(commit)) return true;
      return match < last_index &&
             (!msg_app_flow_paused || CanSendEntries(last_index));
    case ProgressState::kSnapshot:
      return false;
  }
  CHECK(false) << "a progress is in one of the three states";
  return false;
}

std::string Progress::ToString() const {
  std::string out =
      absl::StrCat(ProgressStateName(state), " match=", match, " next=", next);
  if (is_learner) out += " learner";
  if (IsPaused()) out += " paused";
  if (pending_snapshot > 0)
    absl::StrAppend(&out, " pendingSnap=", pending_snapshot);
  if (!recent_active) out += " inactive";
  if (inflights.Count() > 0) {
    absl::StrAppend(&out, " inflight=", inflights.Count());
    if (inflights.Full()) out += "[full]";
  }
  return out;
}

void Progress::CheckInvariants() const {
  CHECK_LT(match, next) << "match < next: next is past every matched entry";
  CHECK_LT(pending_commit, next)
      << "pending_commit < next: no commit beyond the entries sent";
  if (pending_snapshot != 0) {
    CHECK(state == ProgressState::kSnapshot)
        << "a pending snapshot exists only in kSnapshot";
  }
  if (state != ProgressState::kReplicate) {
    CHECK_EQ(inflights.Count(), 0u)
        << "the inflight window is used only in kReplicate";
  }
  inflights.CheckInvariants();
}

}  // namespace etcdpp::raft
