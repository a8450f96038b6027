// Config: the parameters of one raft node.
#ifndef ETCDPP_RAFT_CONFIG_H_
#define ETCDPP_RAFT_CONFIG_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "raft/storage.h"

namespace etcdpp::raft {

// How a leader serves ReadIndex requests.
enum class ReadOnlyOption {
  // Confirms leadership with a round of heartbeats per batch of reads
  // (Raft thesis §6.4). Always linearizable.
  kSafe,
  // Trusts the leader lease: the leader answers at once while it has heard
  // from a quorum within the election timeout. Relies on bounded clock
  // drift, so it requires check_quorum.
  kLeaseBased,
};

// Deliberate bugs, for tests only: each breaks one rule of Raft so that a
// test can show the safety checks (the RapidCheck property in
// raft/raft_safety_test.cc, the simulator's checkers) catch it. All false
// by default; only tests and the simulator set them, never a server flag.
struct PlantedBugs {
  // Grant a vote to every candidate of a term, not just the first (§5.2).
  bool vote_twice_in_term = false;
  // Commit any index a quorum holds, even of an earlier term (the
  // Figure 8 mistake, §5.4.2).
  bool commit_previous_term_by_counting = false;
  // Acknowledge appended entries before they are durable: a follower's
  // MsgAppResp goes out with Ready.messages instead of
  // messages_after_persist, and a leader counts itself at once (§10.2.1).
  bool ack_append_before_persist = false;
  // Hand normal entries past the commit index to the application as if
  // they were committed.
  bool apply_before_commit = false;

  bool any() const {
    return vote_twice_in_term || commit_previous_term_by_counting ||
           ack_append_before_persist || apply_before_commit;
  }
};

struct Config {
  // This node's id; never 0 (0 means "none").
  uint64_t id = 0;

  // Ticks without hearing from a leader before a follower campaigns. The
  // actual timeout is drawn at random in [election_ticks, 2*election_ticks).
  int election_ticks = 10;
  // Ticks between a leader's heartbeats; less than election_ticks.
  int heartbeat_ticks = 1;

  // Seeds the node's PRNG (randomized election timeouts). Nodes of one
  // cluster should get different seeds.
  uint64_t seed = 0;

  // The node's persisted log and state; must outlive the node. Raft only
  // reads it; the application writes to it after each Ready.
  const Storage* storage = nullptr;

  // The last applied index, when restarting; entries up to it are not
  // handed out again.
  uint64_t applied = 0;

  // Byte limit of the entries of one append message (at least one entry is
  // always sent); 0 sends at most one entry per message.
  uint64_t max_size_per_msg = 1 << 20;
  // Byte limit of the committed entries of one Ready; 0 means
  // max_size_per_msg.
  uint64_t max_committed_size_per_ready = 0;
  // Append messages in flight to one follower in replicate state. > 0.
  size_t max_inflight_msgs = 256;
  // Bytes of entries in flight to one follower; 0 means no limit. Must be
  // >= max_size_per_msg when set.
  uint64_t max_inflight_bytes = 0;
  // The leader refuses proposals once the payload bytes of its uncommitted
  // entries would pass this; 0 means no limit.
  uint64_t max_uncommitted_entries_size = 0;

  // Pre-vote (Raft thesis §9.6): a node only campaigns after learning it
  // could win, so a rejoining partitioned node does not disrupt the leader.
  bool pre_vote = false;
  // A leader steps down when it has not heard from a quorum within an
  // election timeout; followers ignore votes while they know a live leader.
  bool check_quorum = false;
  ReadOnlyOption read_only_option = ReadOnlyOption::kSafe;
  // Followers refuse proposals instead of forwarding them to the leader.
  bool disable_proposal_forwarding = false;

  // Tests only (see PlantedBugs).
  PlantedBugs planted_bugs;

  // InvalidArgument naming the first bad field, or OK.
  absl::Status Validate() const;

  // The limits with their "0 means ..." defaults resolved.
  uint64_t EffectiveMaxCommittedSizePerReady() const;
  uint64_t EffectiveMaxUncommittedEntriesSize() const;
};

}  // namespace etcdpp::raft

#endif  // ETCDPP_RAFT_CONFIG_H_
