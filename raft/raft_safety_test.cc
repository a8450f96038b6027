// Random schedules over 3-5 nodes, checked for Raft's safety properties
// after every step (Figure 3 of the paper): Election Safety, Log Matching,
// Leader Completeness and State Machine Safety. After the schedule the
// network heals and the cluster must elect a leader and commit a proposal
// on every node (liveness).
//
// Schedules mix ticks, proposals, delivery in random order, drops,
// duplicates, partitions, crash-restarts (also in the middle of a Ready,
// after its messages went out and before its persist), compaction,
// membership changes, reads and leader transfers. The schedule is a
// generated vector of ops, so RapidCheck shrinks a failing one by removing
// ops: a failure prints the minimal schedule found (and the seed; rerun
// with --test_env=RC_PARAMS="reproduce=..." as RapidCheck says).
//
// RaftPlantedBugsTest turns on each raft::PlantedBugs in turn and shows
// the property catches it.
//
// RaftSafetyRegressionTest replays every schedule that ever failed, as the
// property printed it ("first failing schedule ..."), one per file under
// raft/testdata/safety_schedules/.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/detail/Property.h"
#include "rapidcheck/detail/Results.h"
#include "rapidcheck/detail/TestMetadata.h"
#include "rapidcheck/detail/TestParams.h"
#include "rapidcheck/gtest.h"
#include "raft/raft.h"
#include "raft/raw_node.h"
#include "raft/testing/network.h"

namespace etcdpp::raft {
namespace {

enum OpKind {
  kTickAll,
  kTickOne,
  kPropose,
  kDeliver,
  kDeliverMany,
  kDrop,
  kDuplicate,
  kProcessReady,
  kPartition,
  kHeal,
  kRestart,
  kProcessAll,
  kCompact,
  kConfChange,
  kRead,
  kTransfer,
  kCrashBeforePersist,
  kNumOpKinds,
};

// Weights of the op kinds: time, delivery and persistence dominate, so
// elections and commits happen between the faults.
constexpr int kWeights[kNumOpKinds] = {
    /*kTickAll=*/5, /*kTickOne=*/1,     /*kPropose=*/4,   /*kDeliver=*/3,
    /*kDeliverMany=*/12, /*kDrop=*/1,   /*kDuplicate=*/1, /*kProcessReady=*/3,
    /*kPartition=*/1, /*kHeal=*/1,      /*kRestart=*/1,   /*kProcessAll=*/10,
    /*kCompact=*/1, /*kConfChange=*/1,  /*kRead=*/4,      /*kTransfer=*/1,
    /*kCrashBeforePersist=*/1,
};

int KindFromWeight(int w) {
  for (int k = 0; k < kNumOpKinds; ++k) {
    if (w < kWeights[k]) return k;
    w -= kWeights[k];
  }
  return kTickAll;
}

int TotalWeight() {
  int total = 0;
  for (int w : kWeights) total += w;
  return total;
}

struct Op {
  int kind;
  int a;
  int b;
};

constexpr const char* kOpNames[] = {
    "TickAll",    "TickOne", "Propose",    "Deliver", "DeliverMany", "Drop",
    "Duplicate",  "ProcessReady", "Partition", "Heal", "Restart",
    "ProcessAll", "Compact", "ConfChange", "Read",    "Transfer",
    "CrashBeforePersist"};

void showValue(const Op& op, std::ostream& os) {
  os << kOpNames[op.kind] << "(" << op.a << "," << op.b << ")";
}

// Full-size draws from the first test on: RapidCheck scales generated
// values with its size parameter, which would make early schedules use only
// the first op kinds and node 1. Ops do not shrink one by one (that would
// multiply the shrinking steps); schedules shrink by dropping ops.
rc::Gen<Op> GenOp() {
  return rc::gen::noShrink(rc::gen::resize(100, rc::gen::map(
      rc::gen::tuple(rc::gen::inRange(0, TotalWeight()),
                     rc::gen::inRange(0, 1000), rc::gen::inRange(0, 1000)),
      [](const std::tuple<int, int, int>& t) {
        return Op{KindFromWeight(std::get<0>(t)), std::get<1>(t),
                  std::get<2>(t)};
      })));
}

// Checks the safety properties over the whole history so far.
class SafetyChecker {
 public:
  explicit SafetyChecker(testing::Network* net) : net_(net) {}

  size_t terms_with_leader() const { return leaders_.size(); }
  size_t applied_count() const { return applied_.size(); }

  // Log Matching compares whole logs, the costliest check, so it runs on
  // every `log_matching_every`-th call only (and always when forced).
  // A linearizable read issued now must be served at an index at least the
  // highest commit index any node knows now: every write acknowledged
  // before the read started is at or below it.
  void ReadIssued(const std::string& ctx) {
    uint64_t committed = 0;
    for (uint64_t id : net_->ids()) {
      committed = std::max(committed, net_->raft(id).log().committed());
    }
    reads_[ctx] = committed;
  }

  void Check(bool force_log_matching = false) {
    CheckElectionSafety();
    CheckReads();
    if (force_log_matching || ++calls_ % kLogMatchingEvery == 0) {
      CheckLogMatching();
    }
    CheckStateMachineSafety();
    CheckLeaderCompleteness();
  }

 private:
  // At most one leader per term, ever.
  void CheckElectionSafety() {
    for (uint64_t id : net_->ids()) {
      const Raft& r = net_->raft(id);
      if (r.state() != StateType::kLeader) continue;
      auto [it, inserted] = leaders_.emplace(r.term(), id);
      RC_ASSERT(it->second == id);
    }
  }

  // If two logs hold an entry with the same index and term, they are
  // identical up to it.
  void CheckLogMatching() {
    const std::vector<uint64_t> ids = net_->ids();
    std::map<uint64_t, std::vector<raftpb::Entry>> logs;
    for (uint64_t id : ids) logs[id] = net_->raft(id).log().AllEntries();
    for (size_t x = 0; x < ids.size(); ++x) {
      for (size_t y = x + 1; y < ids.size(); ++y) {
        const auto& a = logs[ids[x]];
        const auto& b = logs[ids[y]];
        if (a.empty() || b.empty()) continue;
        // Compare over the indexes both still hold (compaction differs).
        const uint64_t lo = std::max(a[0].index(), b[0].index());
        const uint64_t hi = std::min(a.back().index(), b.back().index());
        auto at = [](const std::vector<raftpb::Entry>& log, uint64_t i) {
          return log[i - log[0].index()];
        };
        uint64_t match = 0;  // entries [lo, match] must be identical
        for (uint64_t i = lo; i <= hi; ++i) {
          if (at(a, i).term() == at(b, i).term()) match = i;
        }
        for (uint64_t i = lo; i <= match; ++i) {
          RC_ASSERT(at(a, i).term() == at(b, i).term());
          RC_ASSERT(at(a, i).data() == at(b, i).data());
        }
      }
    }
  }

  void CheckReads() {
    for (uint64_t id : net_->ids()) {
      const std::vector<ReadState>& states = net_->read_states(id);
      for (size_t& k = reads_seen_[id]; k < states.size(); ++k) {
        auto it = reads_.find(states[k].request_ctx);
        RC_ASSERT(it != reads_.end());
        RC_ASSERT(states[k].index >= it->second);
      }
    }
  }

  // No two nodes apply different entries at the same index.
  void CheckStateMachineSafety() {
    uint64_t max_term = 0;
    for (uint64_t id : net_->ids()) {
      max_term = std::max(max_term, net_->raft(id).term());
    }
    for (uint64_t id : net_->ids()) {
      for (const raftpb::Entry& e : net_->applied(id)) {
        // The entry was committed in a term no later than any term seen
        // now, which bounds the leaders Leader Completeness speaks of.
        auto [it, inserted] = applied_.emplace(e.index(), Applied{e, max_term});
        RC_ASSERT(it->second.entry.term() == e.term());
        RC_ASSERT(it->second.entry.data() == e.data());
      }
    }
  }

  // §5.4: the leader of any term after an entry was committed holds it.
  // (A deposed leader that has not heard of newer terms may lack it.)
  void CheckLeaderCompleteness() {
    for (uint64_t id : net_->ids()) {
      const Raft& r = net_->raft(id);
      if (r.state() != StateType::kLeader) continue;
      for (const auto& [index, a] : applied_) {
        if (r.term() <= a.seen_by_term) continue;
        // Compacted into the leader's snapshot, hence in its state.
        if (index + 1 < r.log().FirstIndex()) continue;
        absl::StatusOr<uint64_t> term = r.log().Term(index);
        RC_ASSERT(term.ok());
        RC_ASSERT(*term == a.entry.term());
      }
    }
  }

  static constexpr int kLogMatchingEvery = 8;
  testing::Network* net_;
  int calls_ = 0;
  std::map<uint64_t, uint64_t> leaders_;
  std::map<std::string, uint64_t> reads_;  // context -> commit at issue
  std::map<uint64_t, size_t> reads_seen_;
  struct Applied {
    raftpb::Entry entry;
    uint64_t seen_by_term;  // max term of any node when first applied
  };
  std::map<uint64_t, Applied> applied_;
};

// Membership churn without losing a node: demote a voter to learner (while
// at least two voters remain) or promote a learner, as a simple change or
// through a joint configuration. Leaving a joint configuration is
// automatic. Proposed at `node` (forwarded if it is not the leader).
void ProposeMembershipChange(testing::Network& net, uint64_t node,
                             uint64_t target, int choice) {
  const ProgressTracker& trk = net.raft(node).tracker();
  if (trk.config.voters.IsJoint()) return;
  const bool is_voter = trk.config.voters.incoming.Contains(target);
  if (is_voter && trk.config.voters.incoming.size() <= 2) return;
  raftpb::ConfChangeV2 cc;
  raftpb::ConfChangeSingle* c = cc.add_changes();
  c->set_type(is_voter ? raftpb::ConfChangeAddLearnerNode
                       : raftpb::ConfChangeAddNode);
  c->set_node_id(target);
  if (choice % 2 == 0) {
    cc.set_transition(raftpb::ConfChangeTransitionJointImplicit);
  }
  (void)net.node(node).ProposeConfChange(cc);
}

void RunOp(testing::Network& net, const std::vector<uint64_t>& ids,
           const Op& op, int* proposals, SafetyChecker* checker) {
  const uint64_t node = ids[op.a % ids.size()];
  auto& queue = net.queue();
  switch (op.kind) {
    case kTickAll:
      net.TickAll();
      break;
    case kTickOne:
      net.Tick(node);
      break;
    case kPropose:
      (void)net.node(node).Propose("v" + std::to_string((*proposals)++));
      break;
    case kDeliver:
    case kDeliverMany: {
      const int count = op.kind == kDeliver ? 1 : 1 + op.b % 32;
      for (int k = 0; k < count && !queue.empty(); ++k) {
        const size_t i = (op.b + k * 7) % queue.size();
        raftpb::Message m = queue[i];
        queue.erase(queue.begin() + i);
        net.Deliver(m);
      }
      break;
    }
    case kDrop:
      if (!queue.empty()) {
        const size_t i = op.b % queue.size();
        const raftpb::Message m = queue[i];
        queue.erase(queue.begin() + i);
        if (m.type() == raftpb::MsgSnap) net.ReportSnapshotResult(m, false);
      }
      break;
    case kDuplicate:
      if (!queue.empty()) queue.push_back(queue[op.b % queue.size()]);
      break;
    case kProcessReady:
      net.ProcessReady(node);
      break;
    case kPartition:
      net.Isolate(node);
      break;
    case kHeal:
      net.Recover();
      break;
    case kRestart:
      net.Restart(node);
      break;
    case kCrashBeforePersist:
      net.CrashBeforePersist(node);
      break;
    case kProcessAll:
      net.ProcessReadies();
      break;
    case kRead: {
      const std::string ctx = "read" + std::to_string((*proposals)++);
      checker->ReadIssued(ctx);
      (void)net.node(node).ReadIndex(ctx);
      break;
    }
    case kTransfer:
      net.node(node).TransferLeader(ids[op.b % ids.size()]);
      break;
    case kConfChange:
      ProposeMembershipChange(net, node, ids[op.b % ids.size()], op.b);
      break;
    case kCompact: {
      // The application snapshots its state at the applied index and
      // drops the log before it, so lagging peers need a snapshot.
      const Raft& r = net.raft(node);
      const uint64_t applied = r.log().applied();
      if (applied <= net.storage(node).FirstIndex()) break;
      raftpb::ConfState cs = r.tracker().ConfState();
      if (net.storage(node).CreateSnapshot(applied, &cs, "").ok()) {
        RC_ASSERT(net.storage(node).Compact(applied).ok());
      }
      break;
    }
  }
}

// The leader every node follows in its own term, or 0.
uint64_t StableLeader(testing::Network& net, const std::vector<uint64_t>& ids) {
  const uint64_t leader = net.Leader();
  if (leader == 0) return 0;
  for (uint64_t id : ids) {
    if (net.raft(id).term() != net.raft(leader).term()) return 0;
    if (net.raft(id).lead() != leader) return 0;
  }
  return leader;
}

void RunSchedule(int n, bool pre_vote, bool check_quorum, uint64_t seed,
                 const std::vector<Op>& ops, const PlantedBugs& bugs,
                 bool liveness);

// What one run of the property saw, for the planted-bug tests.
struct RunStats {
  int runs = 0;             // property runs started
  int first_failure = 0;    // the run that failed first (1-based), or 0
  size_t min_failing_ops = 0;  // the shortest failing schedule seen
};

// The property: draws a cluster and a schedule, runs it checking safety
// after every step, then (when `liveness`) heals and checks liveness.
void SafetyProperty(const PlantedBugs& bugs, bool liveness, RunStats* stats,
                    int max_ops = 1200) {
  const int n = *rc::gen::inRange(3, 6);
  const bool pre_vote = *rc::gen::arbitrary<bool>();
  const bool check_quorum = *rc::gen::arbitrary<bool>();
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1u << 30);
  // 0 to 1200 steps (mean 600). A failing schedule shrinks by removing
  // ops; each try reruns the whole cluster, so shrinking a long schedule
  // takes many minutes: the first failure is printed at once, so a run
  // cut short by the test timeout still says how to reproduce it.
  const auto ops = *rc::gen::resize(
      max_ops, rc::gen::container<std::vector<Op>>(GenOp()));
  if (stats != nullptr) ++stats->runs;
  try {
    RunSchedule(n, pre_vote, check_quorum, seed, ops, bugs, liveness);
  } catch (...) {
    static bool printed = false;
    if (!printed && stats == nullptr) {
      printed = true;
      std::ostringstream os;
      os << "first failing schedule (before shrinking): n=" << n
         << " pre_vote=" << pre_vote << " check_quorum=" << check_quorum
         << " seed=" << seed << " ops=" << ops.size() << ":";
      for (const Op& op : ops) {
        os << " ";
        showValue(op, os);
      }
      std::fprintf(stderr, "%s\n", os.str().c_str());
    }
    if (stats != nullptr) {
      if (stats->first_failure == 0) stats->first_failure = stats->runs;
      if (stats->min_failing_ops == 0 || ops.size() < stats->min_failing_ops) {
        stats->min_failing_ops = ops.size();
      }
    }
    throw;
  }
}

RC_GTEST_PROP(RaftSafetyTest, RandomSchedulesKeepSafetyAndHealToLiveness,
              ()) {
  SafetyProperty(PlantedBugs(), /*liveness=*/true, nullptr);
}

void RunSchedule(int n, bool pre_vote, bool check_quorum, uint64_t seed,
                 const std::vector<Op>& ops, const PlantedBugs& bugs,
                 bool liveness) {
  testing::NetworkOptions o;
  o.voters.clear();
  for (int id = 1; id <= n; ++id) o.voters.push_back(id);
  o.seed = seed;
  o.customize = [&](Config& c) {
    c.pre_vote = pre_vote;
    c.check_quorum = check_quorum;
    c.max_size_per_msg = 64;
    c.max_inflight_msgs = 4;
    c.planted_bugs = bugs;
  };
  testing::Network net(o);
  const std::vector<uint64_t> ids = net.ids();
  SafetyChecker checker(&net);
  int proposals = 0;

  // Safety phase: the schedule, checked after every step.
  for (const Op& op : ops) {
    RunOp(net, ids, op, &proposals, &checker);
    checker.Check();
  }
  checker.Check(/*force_log_matching=*/true);

  RC_CLASSIFY(checker.terms_with_leader() >= 2, "2+ leaders before healing");
  RC_CLASSIFY(checker.applied_count() >= 3, "3+ entries applied before healing");
  if (!liveness) return;
  // Liveness phase: heal everything; a leader that all nodes follow must
  // emerge and commit a proposal on every node. A leader deposed before
  // committing is replaced, and the next one is asked again.
  net.Recover();
  uint64_t proposed_in_term = 0;
  bool done = false;
  for (int round = 0; round < 500 && !done; ++round) {
    net.TickAll();
    net.Stabilize();
    checker.Check();
    const uint64_t leader = StableLeader(net, ids);
    if (leader != 0 && net.raft(leader).term() != proposed_in_term &&
        net.node(leader).Propose("final").ok()) {
      proposed_in_term = net.raft(leader).term();
    }
    done = true;
    for (uint64_t id : ids) {
      const auto data = net.AppliedData(id);
      done = done && !data.empty() && data.back() == "final";
    }
  }
  RC_ASSERT(done);
  checker.Check(/*force_log_matching=*/true);
  // Every node applied up to the same index (nodes that caught up by
  // snapshot applied fewer entries one by one; State Machine Safety has
  // compared every entry they did apply).
  for (uint64_t id : ids) {
    RC_ASSERT(net.raft(id).log().applied() ==
              net.raft(ids[0]).log().applied());
  }
}

// ---------------------------------------------------------------------------
// Planted bugs: each must be caught by the safety checks. Shrinking is off
// here (the shrinking test below covers it), so each check stops at the
// first failing schedule; the number of runs it took is printed.

struct CatchResult {
  bool caught = false;
  int runs = 0;
  std::string description;
  size_t min_failing_ops = 0;
  std::string counterexample;
};

CatchResult RunWithBug(const PlantedBugs& bugs, int max_runs, bool shrink,
                       int max_ops = 1200) {
  RunStats stats;
  rc::detail::TestParams params;
  params.seed = 20261126;
  params.maxSuccess = max_runs;
  params.maxSize = 100;
  params.disableShrinking = !shrink;
  rc::detail::TestMetadata metadata;
  metadata.id = "RaftPlantedBugsTest";
  const rc::detail::TestResult result = rc::detail::checkProperty(
      rc::detail::toProperty(
          [&] { SafetyProperty(bugs, /*liveness=*/false, &stats, max_ops); }),
      metadata, params);
  CatchResult out;
  if (!result.is<rc::detail::FailureResult>()) return out;
  const auto& failure = result.get<rc::detail::FailureResult>();
  out.caught = true;
  out.runs = stats.first_failure;
  out.description = failure.description;
  out.min_failing_ops = stats.min_failing_ops;
  for (const auto& [type, value] : failure.counterExample) {
    out.counterexample += type + ": " + value + "\n";
  }
  return out;
}

void ExpectCaught(const char* name, const PlantedBugs& bugs) {
  const CatchResult r = RunWithBug(bugs, 3000, /*shrink=*/false);
  ASSERT_TRUE(r.caught) << name << " was not caught in 3000 runs";
  std::fprintf(stderr, "planted bug %s: caught on run %d: %s\n", name, r.runs,
               r.description.c_str());
  // A safety assertion, not a crash or a generation failure.
  EXPECT_NE(r.description.find("RC_ASSERT"), std::string::npos)
      << r.description;
}

TEST(RaftPlantedBugsTest, VoteTwiceInTerm) {
  PlantedBugs b;
  b.vote_twice_in_term = true;
  ExpectCaught("vote_twice_in_term", b);
}

// Random schedules rarely build Figure 8 (no catch in 3000 runs), so this
// bug is shown by the scenario of the figure, checked after every step by
// the same SafetyChecker: with the bug, leader 1 of term 3 commits index 2
// (term 1) by counting replicas; 5 then wins term 4 and overwrites it, and
// State Machine Safety breaks. Without the bug the same schedule is safe.
void Figure8(bool bug) {
  testing::NetworkOptions o;
  o.voters = {1, 2, 3, 4, 5};
  o.customize = [bug](Config& c) {
    c.planted_bugs.commit_previous_term_by_counting = bug;
  };
  testing::Network net(o);
  SafetyChecker checker(&net);
  auto check = [&] { checker.Check(/*force_log_matching=*/true); };
  testing::PlayFigure8(net, check);
  // (c) Index 2 (term 1) alone reaches 3, and 2 (which has it) confirms it:
  // a majority (1, 2, 3) holds it.
  RC_ASSERT(net.node(3).Step(testing::Figure8OldEntryAppend(3)).ok());
  RC_ASSERT(net.node(2).Step(testing::Figure8OldEntryAppend(2)).ok());
  net.Stabilize();
  check();
  // (d) 1 crashes; 5 restarts and wins term 4 with 2, 3, 4 (its last
  // entry, of term 2, is more up to date than their term-1 one) and
  // replicates its index 2.
  net.Recover();
  net.Isolate(1);
  net.Restart(5);  // still leader of term 2 otherwise
  net.Campaign(5);
  check();
  net.Campaign(5);
  check();
  for (int t = 0; t < 5; ++t) {
    net.TickAll();
    net.Stabilize();
    check();
  }
  RC_ASSERT(net.raft(5).state() == StateType::kLeader);
}

TEST(RaftPlantedBugsTest, CommitPreviousTermByCountingFigure8) {
  EXPECT_NO_THROW(Figure8(/*bug=*/false));
  bool caught = false;
  try {
    Figure8(/*bug=*/true);
  } catch (const rc::detail::CaseResult& r) {
    caught = true;
    std::fprintf(stderr,
                 "planted bug commit_previous_term_by_counting: caught by "
                 "the Figure 8 scenario: %s\n",
                 r.description.c_str());
    EXPECT_NE(r.description.find("entry.term() == e.term()"),
              std::string::npos)
        << "State Machine Safety is what breaks";
  }
  EXPECT_TRUE(caught);
}

TEST(RaftPlantedBugsTest, AckAppendBeforePersist) {
  PlantedBugs b;
  b.ack_append_before_persist = true;
  ExpectCaught("ack_append_before_persist", b);
}

TEST(RaftPlantedBugsTest, ApplyBeforeCommit) {
  PlantedBugs b;
  b.apply_before_commit = true;
  ExpectCaught("apply_before_commit", b);
}

// A failing schedule shrinks: RapidCheck removes ops while it still fails,
// and reports a schedule much shorter than the one that first failed.
// (Schedules of at most 300 ops, so that shrinking takes seconds.)
TEST(RaftPlantedBugsTest, FailingScheduleShrinks) {
  PlantedBugs b;
  b.apply_before_commit = true;
  const CatchResult r = RunWithBug(b, 3000, /*shrink=*/true, /*max_ops=*/300);
  ASSERT_TRUE(r.caught);
  std::fprintf(stderr, "first failure on run %d; shrunk to %zu ops:\n%s\n",
               r.runs, r.min_failing_ops, r.counterexample.c_str());
  EXPECT_LE(r.min_failing_ops, 60u) << r.counterexample;
}

// A schedule as the property prints it: "... n=3 pre_vote=0
// check_quorum=1 seed=6376439 ops=1121: TickAll(782,711) ...".
struct RecordedSchedule {
  int n = 0;
  bool pre_vote = false;
  bool check_quorum = false;
  uint64_t seed = 0;
  std::vector<Op> ops;
};

std::optional<RecordedSchedule> ParseSchedule(const std::string& text) {
  RecordedSchedule s;
  int pre_vote = 0, check_quorum = 0;
  unsigned long long seed = 0;
  size_t count = 0;
  const size_t at = text.find("n=");
  if (at == std::string::npos ||
      std::sscanf(text.c_str() + at,
                  "n=%d pre_vote=%d check_quorum=%d seed=%llu ops=%zu", &s.n,
                  &pre_vote, &check_quorum, &seed, &count) != 5) {
    return std::nullopt;
  }
  s.pre_vote = pre_vote != 0;
  s.check_quorum = check_quorum != 0;
  s.seed = seed;
  std::istringstream in(text.substr(text.find(':', at) + 1));
  for (std::string word; in >> word;) {
    const size_t open = word.find('(');
    Op op{-1, 0, 0};
    for (int k = 0; k < static_cast<int>(std::size(kOpNames)); ++k) {
      if (word.compare(0, open, kOpNames[k]) == 0 &&
          std::strlen(kOpNames[k]) == open) {
        op.kind = k;
      }
    }
    if (op.kind < 0 || std::sscanf(word.c_str() + open, "(%d,%d)", &op.a,
                                   &op.b) != 2) {
      return std::nullopt;
    }
    s.ops.push_back(op);
  }
  if (s.ops.size() != count) return std::nullopt;
  return s;
}

TEST(RaftSafetyRegressionTest, RecordedSchedulesKeepSafetyAndLiveness) {
  int replayed = 0;
  for (const auto& file : std::filesystem::directory_iterator(
           "raft/testdata/safety_schedules")) {
    SCOPED_TRACE(file.path().string());
    std::ifstream in(file.path());
    const std::string text((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
    const std::optional<RecordedSchedule> s = ParseSchedule(text);
    ASSERT_TRUE(s.has_value()) << "not a schedule as the property prints it";
    // One run of a fixed schedule, under RapidCheck for its assertions.
    rc::detail::TestParams params;
    params.maxSuccess = 1;
    params.disableShrinking = true;
    rc::detail::TestMetadata metadata;
    metadata.id = "RaftSafetyRegressionTest";
    const rc::detail::TestResult result = rc::detail::checkProperty(
        rc::detail::toProperty([&] {
          RunSchedule(s->n, s->pre_vote, s->check_quorum, s->seed, s->ops,
                      PlantedBugs(), /*liveness=*/true);
        }),
        metadata, params);
    if (result.is<rc::detail::FailureResult>()) {
      ADD_FAILURE() << result.get<rc::detail::FailureResult>().description;
    }
    ++replayed;
  }
  EXPECT_GT(replayed, 0) << "no schedules found";
}

}  // namespace
}  // namespace etcdpp::raft

