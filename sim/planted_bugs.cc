#include "sim/planted_bugs.h"

#include "absl/strings/str_cat.h"

namespace etcdpp::sim {

const std::vector<PlantedBug>& AllPlantedBugs() {
  // Raft's and kv's bugs (vote_twice_in_term,
  // commit_previous_term_by_counting, ack_append_before_persist,
  // apply_before_commit; lease_outlives_revoke, watch_events_out_of_order)
  // join as one line each once their PlantedBugs structs reach NodeOptions.
  static const std::vector<PlantedBug> bugs = {
      {"serve_read_locally_on_deposed_leader",
       "linearizable reads: a member that believes it leads answers from "
       "local state without ReadIndex (node)",
       [](server::NodeOptions& o) {
         o.planted_bugs.serve_read_locally_on_deposed_leader = true;
       }},
      {"skip_torn_tail_truncation",
       "recovery: a torn WAL tail is left in place and appended after "
       "(storage)",
       [](server::NodeOptions& o) {
         o.wal.planted_bugs.skip_torn_tail_truncation = true;
       }},
      {"wal_skip_fsync",
       "durability: the WAL never fsyncs, so a crash loses acknowledged "
       "writes (storage)",
       [](server::NodeOptions& o) { o.wal.planted_bugs.skip_fsync = true; }},
  };
  return bugs;
}

const PlantedBug* FindPlantedBug(absl::string_view name) {
  for (const PlantedBug& bug : AllPlantedBugs()) {
    if (name == bug.name) return &bug;
  }
  return nullptr;
}

std::string ListPlantedBugs() {
  std::string out;
  for (const PlantedBug& bug : AllPlantedBugs()) {
    absl::StrAppend(&out, bug.name, ": ", bug.breaks, "\n");
  }
  return out;
}

}  // namespace etcdpp::sim
