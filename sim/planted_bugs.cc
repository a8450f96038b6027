#include "sim/planted_bugs.h"

#include "absl/strings/str_cat.h"

namespace etcdpp::sim {

const std::vector<PlantedBug>& AllPlantedBugs() {
  static const std::vector<PlantedBug> bugs = {
      {"vote_twice_in_term",
       "election safety: a member grants its vote to every candidate of a "
       "term (raft)",
       [](server::NodeOptions& o) {
         o.planted_bugs.raft.vote_twice_in_term = true;
       }},
      {"commit_previous_term_by_counting",
       "leader completeness (Figure 8): a leader commits an entry of an "
       "earlier term once a majority holds it (raft)",
       [](server::NodeOptions& o) {
         o.planted_bugs.raft.commit_previous_term_by_counting = true;
       }},
      {"ack_append_before_persist",
       "durability: appends are acknowledged before their fsync (raft)",
       [](server::NodeOptions& o) {
         o.planted_bugs.raft.ack_append_before_persist = true;
       }},
      {"apply_before_commit",
       "state machine safety: entries are applied before they commit (raft)",
       [](server::NodeOptions& o) {
         o.planted_bugs.raft.apply_before_commit = true;
       }},
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
      {"lease_outlives_revoke",
       "leases: a revoke (a client's or an expiry's) forgets to delete the "
       "lease's keys (kv)",
       [](server::NodeOptions& o) {
         o.applier.bugs.lease_outlives_revoke = true;
       }},
      {"watch_events_out_of_order",
       "watch: a batch of two or more events reaches the watcher in reverse "
       "(kv's WatchHub, which the world runs per member)",
       [](server::NodeOptions& o) {
         o.applier.bugs.watch_events_out_of_order = true;
       }},
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
