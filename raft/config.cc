#include "raft/config.h"

namespace etcdpp::raft {

absl::Status Config::Validate() const {
  if (id == 0) return absl::InvalidArgumentError("raft: cannot use 0 as id");
  if (heartbeat_ticks <= 0) {
    return absl::InvalidArgumentError("raft: heartbeat_ticks must be > 0");
  }
  if (election_ticks <= heartbeat_ticks) {
    return absl::InvalidArgumentError(
        "raft: election_ticks must be greater than heartbeat_ticks");
  }
  if (storage == nullptr) {
    return absl::InvalidArgumentError("raft: storage cannot be null");
  }
  if (max_inflight_msgs == 0) {
    return absl::InvalidArgumentError("raft: max_inflight_msgs must be > 0");
  }
  if (max_inflight_bytes != 0 && max_inflight_bytes < max_size_per_msg) {
    return absl::InvalidArgumentError(
        "raft: max_inflight_bytes must be >= max_size_per_msg");
  }
  if (read_only_option == ReadOnlyOption::kLeaseBased && !check_quorum) {
    return absl::InvalidArgumentError(
        "raft: check_quorum must be enabled when read_only_option is "
        "kLeaseBased");
  }
  return absl::OkStatus();
}

uint64_t Config::EffectiveMaxCommittedSizePerReady() const {
  return max_committed_size_per_ready == 0 ? max_size_per_msg
                                           : max_committed_size_per_ready;
}

uint64_t Config::EffectiveMaxUncommittedEntriesSize() const {
  return max_uncommitted_entries_size == 0 ? kNoLimit
                                           : max_uncommitted_entries_size;
}

}  // namespace etcdpp::raft
