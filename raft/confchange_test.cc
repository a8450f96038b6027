#include "raft/confchange.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace etcdpp::raft {
namespace {

// Parses "v1 l2 r3 u4" (add voter, add learner, remove, update), as etcd's
// confchange test scripts write changes.
std::vector<raftpb::ConfChangeSingle> Changes(const std::string& script) {
  std::vector<raftpb::ConfChangeSingle> changes;
  for (absl::string_view token :
       absl::StrSplit(script, ' ', absl::SkipEmpty())) {
    raftpb::ConfChangeSingle change;
    switch (token[0]) {
      case 'v':
        change.set_type(raftpb::ConfChangeAddNode);
        break;
      case 'l':
        change.set_type(raftpb::ConfChangeAddLearnerNode);
        break;
      case 'r':
        change.set_type(raftpb::ConfChangeRemoveNode);
        break;
      case 'u':
        change.set_type(raftpb::ConfChangeUpdateNode);
        break;
      default:
        ADD_FAILURE() << "bad change " << token;
    }
    uint64_t id = 0;
    EXPECT_TRUE(absl::SimpleAtoi(token.substr(1), &id)) << token;
    change.set_node_id(id);
    changes.push_back(change);
  }
  return changes;
}

// Runs changer operations against a tracker, swapping in every successful
// result, and prints the outcome the way etcd's scripts do.
class Harness {
 public:
  std::string Simple(const std::string& script) {
    return Finish(Changer(tracker_, last_index_).Simple(Changes(script)));
  }
  std::string EnterJoint(bool auto_leave, const std::string& script) {
    return Finish(
        Changer(tracker_, last_index_).EnterJoint(auto_leave, Changes(script)));
  }
  std::string LeaveJoint() {
    return Finish(Changer(tracker_, last_index_).LeaveJoint());
  }

  ProgressTracker& tracker() { return tracker_; }
  void set_last_index(uint64_t index) { last_index_ = index; }

 private:
  std::string Finish(absl::StatusOr<ConfChangeResult> result) {
    if (!result.ok()) return std::string(result.status().message());
    tracker_.config = std::move(result->config);
    tracker_.progress = std::move(result->progress);
    tracker_.CheckInvariants();
    return tracker_.config.ToString() + "\n" +
           ProgressMapToString(tracker_.progress);
  }

  ProgressTracker tracker_{10, 0};
  uint64_t last_index_ = 0;
};

TEST(ChangerTest, SimpleSafety) {
  Harness h;
  EXPECT_EQ(h.Simple("l1"), "removed all voters");
  EXPECT_EQ(h.Simple("v1"), "voters=(1)\n1: StateProbe match=0 next=1\n");
  h.set_last_index(4);
  EXPECT_EQ(h.Simple("v2 l3"),
            "voters=(1 2) learners=(3)\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=0 next=4\n"
            "3: StateProbe match=0 next=4 learner\n");
  const std::string two_voters =
      "more than one voter changed without entering joint config";
  EXPECT_EQ(h.Simple("r1 v5"), two_voters);
  EXPECT_EQ(h.Simple("r1 r2"), "removed all voters");
  EXPECT_EQ(h.Simple("v3 v4"), two_voters);
  EXPECT_EQ(h.Simple("l1 v5"), two_voters);
  EXPECT_EQ(h.Simple("l1 l2"), "removed all voters");
  EXPECT_EQ(h.Simple("l2 l3 l4 l5"),
            "voters=(1) learners=(2 3 4 5)\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=0 next=4 learner\n"
            "3: StateProbe match=0 next=4 learner\n"
            "4: StateProbe match=0 next=4 learner\n"
            "5: StateProbe match=0 next=4 learner\n");
  EXPECT_EQ(h.Simple("r1"), "removed all voters");
  EXPECT_EQ(h.Simple("r2 r3 r4 r5"),
            "voters=(1)\n1: StateProbe match=0 next=1\n");
}

TEST(ChangerTest, SimplePromoteDemote) {
  Harness h;
  h.Simple("v1");
  h.Simple("v2");
  h.Simple("v3");
  // Demoting and re-adding in one change is fine: voters are unchanged.
  EXPECT_EQ(h.Simple("l1 v1"),
            "voters=(1 2 3)\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=0 next=1\n"
            "3: StateProbe match=0 next=1\n");
  EXPECT_EQ(h.Simple("l2"),
            "voters=(1 3) learners=(2)\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=0 next=1 learner\n"
            "3: StateProbe match=0 next=1\n");
  // Demote 1 and promote 2 at once: two voters change.
  EXPECT_EQ(h.Simple("l1 v2"),
            "more than one voter changed without entering joint config");
  // Promote the learner back, keeping its progress.
  h.tracker().progress.at(2).match = 7;
  h.tracker().progress.at(2).next = 8;
  EXPECT_EQ(h.Simple("v2"),
            "voters=(1 2 3)\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=7 next=8\n"
            "3: StateProbe match=0 next=1\n");
}

TEST(ChangerTest, SimpleIsIdempotent) {
  Harness h;
  const std::string one = "voters=(1)\n1: StateProbe match=0 next=1\n";
  EXPECT_EQ(h.Simple("v1"), one);
  EXPECT_EQ(h.Simple("v1"), one);
  const std::string learner =
      "voters=(1) learners=(2)\n"
      "1: StateProbe match=0 next=1\n"
      "2: StateProbe match=0 next=1 learner\n";
  EXPECT_EQ(h.Simple("l2"), learner);
  EXPECT_EQ(h.Simple("l2"), learner);
  EXPECT_EQ(h.Simple("r2"), one);
  EXPECT_EQ(h.Simple("r2"), one);
  EXPECT_EQ(h.Simple("r5"), one) << "removing a stranger is a no-op";
}

TEST(ChangerTest, UpdateAndZeroIdChangeNothing) {
  Harness h;
  const std::string one = "voters=(1)\n1: StateProbe match=0 next=1\n";
  EXPECT_EQ(h.Simple("v1"), one);
  EXPECT_EQ(h.Simple("u1"), one);
  EXPECT_EQ(h.Simple("u1 v0 l0 r0"), one);
  EXPECT_EQ(h.EnterJoint(false, "u1"),
            "voters=(1)&&(1)\n1: StateProbe match=0 next=1\n");
}

TEST(ChangerTest, UnknownTypeIsInvalid) {
  Harness h;
  h.Simple("v1");
  raftpb::ConfChangeSingle change;
  change.set_type(static_cast<raftpb::ConfChangeType>(42));
  change.set_node_id(2);
  std::vector<raftpb::ConfChangeSingle> changes = {change};
  absl::StatusOr<ConfChangeResult> result =
      Changer(h.tracker(), 0).Simple(changes);
  EXPECT_EQ(result.status(),
            absl::InvalidArgumentError("unexpected conf type 42"));
}

TEST(ChangerTest, JointSafety) {
  Harness h;
  EXPECT_EQ(h.LeaveJoint(), "can't leave a non-joint config");
  EXPECT_EQ(h.EnterJoint(false, ""), "can't make a zero-voter config joint");
  EXPECT_EQ(h.EnterJoint(false, "v1"), "can't make a zero-voter config joint");
  h.Simple("v1");
  EXPECT_EQ(h.LeaveJoint(), "can't leave a non-joint config");
  // Entering a joint state without changes is allowed, if pointless.
  EXPECT_EQ(h.EnterJoint(false, ""),
            "voters=(1)&&(1)\n1: StateProbe match=0 next=1\n");
  EXPECT_EQ(h.EnterJoint(false, ""), "config is already joint");
  EXPECT_EQ(h.Simple("v2"), "can't apply simple config change in joint config");
  EXPECT_EQ(h.LeaveJoint(), "voters=(1)\n1: StateProbe match=0 next=1\n");
  EXPECT_EQ(h.LeaveJoint(), "can't leave a non-joint config");
  h.set_last_index(10);
  EXPECT_EQ(h.EnterJoint(false, "r1 v2 v3 u1"),
            "voters=(2 3)&&(1)\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=0 next=10\n"
            "3: StateProbe match=0 next=10\n");
  EXPECT_EQ(h.EnterJoint(false, "r1 v2 v3"), "config is already joint");
  EXPECT_EQ(h.LeaveJoint(),
            "voters=(2 3)\n"
            "2: StateProbe match=0 next=10\n"
            "3: StateProbe match=0 next=10\n");
  EXPECT_EQ(h.EnterJoint(false, "r2 r3"), "removed all voters");
}

TEST(ChangerTest, JointAutoLeave) {
  Harness h;
  h.Simple("v1");
  EXPECT_EQ(h.EnterJoint(true, "v2 v3"),
            "voters=(1 2 3)&&(1) autoleave\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=0 next=1\n"
            "3: StateProbe match=0 next=1\n");
  EXPECT_TRUE(h.tracker().ConfState().auto_leave());
  EXPECT_EQ(h.LeaveJoint(),
            "voters=(1 2 3)\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=0 next=1\n"
            "3: StateProbe match=0 next=1\n");
  EXPECT_FALSE(h.tracker().config.auto_leave);
}

TEST(ChangerTest, JointDemotionUsesLearnersNext) {
  Harness h;
  h.Simple("v1");
  // 1 stays a voter of the outgoing half, so it cannot be a learner yet.
  EXPECT_EQ(h.EnterJoint(false, "v2 l1"),
            "voters=(2)&&(1) learners_next=(1)\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=0 next=1\n");
  EXPECT_EQ(h.LeaveJoint(),
            "voters=(2) learners=(1)\n"
            "1: StateProbe match=0 next=1 learner\n"
            "2: StateProbe match=0 next=1\n");
}

TEST(ChangerTest, JointNewLearnerJoinsAtOnce) {
  Harness h;
  h.Simple("v1");
  h.Simple("v2");
  // 3 is no outgoing voter, so it learns right away (and catches up sooner).
  EXPECT_EQ(h.EnterJoint(false, "r2 l3"),
            "voters=(1)&&(1 2) learners=(3)\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=0 next=1\n"
            "3: StateProbe match=0 next=1 learner\n");
  // 2 was removed but still votes in the outgoing half until the end.
  EXPECT_EQ(h.LeaveJoint(),
            "voters=(1) learners=(3)\n"
            "1: StateProbe match=0 next=1\n"
            "3: StateProbe match=0 next=1 learner\n");
}

TEST(ChangerTest, JointPromoteStagedLearnerBack) {
  Harness h;
  h.Simple("v1");
  h.Simple("v2");
  EXPECT_EQ(h.EnterJoint(false, "l2 v2"),
            "voters=(1 2)&&(1 2)\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=0 next=1\n");
  EXPECT_EQ(h.LeaveJoint(),
            "voters=(1 2)\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=0 next=1\n");
}

TEST(ChangerTest, JointRemoveStagedLearner) {
  Harness h;
  h.Simple("v1");
  h.Simple("v2");
  EXPECT_EQ(h.EnterJoint(false, "l2 r2"),
            "voters=(1)&&(1 2)\n"
            "1: StateProbe match=0 next=1\n"
            "2: StateProbe match=0 next=1\n");
  EXPECT_EQ(h.LeaveJoint(), "voters=(1)\n1: StateProbe match=0 next=1\n");
}

TEST(ChangerTest, ErrorLeavesInputUnchanged) {
  Harness h;
  h.Simple("v1");
  h.Simple("v2");
  const TrackerConfig before = h.tracker().config;
  Changer changer(h.tracker(), 0);
  EXPECT_FALSE(changer.Simple(Changes("v3 v4")).ok());
  EXPECT_EQ(changer.config(), before);
  EXPECT_EQ(changer.progress().size(), 2u);
}

TEST(ChangerTest, ErrorCodes) {
  Harness h;
  h.Simple("v1");
  Changer changer(h.tracker(), 0);
  EXPECT_EQ(changer.LeaveJoint().status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(changer.Simple(Changes("r1")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(changer.Simple(Changes("v2 v3")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RestoreTest, Examples) {
  struct Case {
    std::vector<uint64_t> voters, learners, outgoing, learners_next;
    bool auto_leave;
  };
  const std::vector<Case> cases = {
      {{1, 2, 3}, {}, {}, {}, false},
      {{1, 2, 3}, {4, 5, 6}, {}, {}, false},
      {{1, 2, 3}, {5}, {1, 2, 4, 6}, {4}, false},
      {{1, 2, 3}, {5}, {1, 2, 4, 6}, {4}, true},
      {{8}, {}, {1}, {1}, true},
  };
  for (const Case& c : cases) {
    raftpb::ConfState cs;
    for (uint64_t id : c.voters) cs.add_voters(id);
    for (uint64_t id : c.learners) cs.add_learners(id);
    for (uint64_t id : c.outgoing) cs.add_voters_outgoing(id);
    for (uint64_t id : c.learners_next) cs.add_learners_next(id);
    cs.set_auto_leave(c.auto_leave);
    ProgressTracker tracker(10, 0);
    absl::StatusOr<ConfChangeResult> result = Restore(cs, Changer(tracker, 20));
    ASSERT_TRUE(result.ok()) << result.status();
    tracker.config = result->config;
    tracker.progress = result->progress;
    tracker.CheckInvariants();
    EXPECT_EQ(tracker.ConfState().SerializeAsString(), cs.SerializeAsString())
        << tracker.config.ToString();
    for (const auto& [id, pr] : tracker.progress) EXPECT_EQ(pr.next, 20u);
  }
}

TEST(RestoreTest, Errors) {
  ProgressTracker empty(10, 0);
  raftpb::ConfState no_voters;
  no_voters.add_learners(1);
  EXPECT_EQ(Restore(no_voters, Changer(empty, 0)).status(),
            absl::InvalidArgumentError("removed all voters"));

  Harness h;
  h.Simple("v1");
  raftpb::ConfState cs;
  cs.add_voters(1);
  EXPECT_EQ(Restore(cs, Changer(h.tracker(), 0)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ConfChangeV2Test, V1ToV2) {
  raftpb::ConfChange v1;
  v1.set_type(raftpb::ConfChangeAddLearnerNode);
  v1.set_node_id(7);
  v1.set_context("ctx");
  v1.set_id(99);
  const raftpb::ConfChangeV2 v2 = ConfChangeV1ToV2(v1);
  EXPECT_EQ(v2.transition(), raftpb::ConfChangeTransitionAuto);
  ASSERT_EQ(v2.changes_size(), 1);
  EXPECT_EQ(v2.changes(0).type(), raftpb::ConfChangeAddLearnerNode);
  EXPECT_EQ(v2.changes(0).node_id(), 7u);
  EXPECT_EQ(v2.context(), "ctx");
  bool auto_leave = true;
  EXPECT_FALSE(EnterJoint(v2, &auto_leave)) << "one change is made directly";
  EXPECT_FALSE(auto_leave);
  EXPECT_FALSE(LeaveJoint(v2));
}

TEST(ConfChangeV2Test, EnterAndLeaveJoint) {
  struct Case {
    raftpb::ConfChangeTransition transition;
    int changes;
    bool want_enter;
    bool want_auto_leave;
    bool want_leave;
  };
  const std::vector<Case> cases = {
      {raftpb::ConfChangeTransitionAuto, 0, false, false, true},
      {raftpb::ConfChangeTransitionAuto, 1, false, false, false},
      {raftpb::ConfChangeTransitionAuto, 2, true, true, false},
      {raftpb::ConfChangeTransitionJointImplicit, 0, true, true, false},
      {raftpb::ConfChangeTransitionJointImplicit, 1, true, true, false},
      {raftpb::ConfChangeTransitionJointExplicit, 1, true, false, false},
      {raftpb::ConfChangeTransitionJointExplicit, 3, true, false, false},
      {static_cast<raftpb::ConfChangeTransition>(17), 1, true, false, false},
  };
  for (const Case& c : cases) {
    raftpb::ConfChangeV2 cc;
    cc.set_transition(c.transition);
    for (int i = 0; i < c.changes; ++i) {
      raftpb::ConfChangeSingle* change = cc.add_changes();
      change->set_type(raftpb::ConfChangeAddNode);
      change->set_node_id(i + 1);
    }
    cc.set_context("ignored");
    bool auto_leave = false;
    EXPECT_EQ(EnterJoint(cc, &auto_leave), c.want_enter)
        << c.transition << " " << c.changes;
    EXPECT_EQ(auto_leave, c.want_auto_leave)
        << c.transition << " " << c.changes;
    EXPECT_EQ(LeaveJoint(cc), c.want_leave) << c.transition << " " << c.changes;
  }
}

TEST(ConfChangeV2Test, Describe) {
  EXPECT_EQ(DescribeConfChanges(Changes("v1 l2 r3 u4")),
            "ConfChangeAddNode(1) ConfChangeAddLearnerNode(2) "
            "ConfChangeRemoveNode(3) ConfChangeUpdateNode(4)");
  EXPECT_EQ(DescribeConfChanges({}), "");
}

// ---- Properties ----

constexpr uint64_t kMaxId = 5;

rc::Gen<raftpb::ConfChangeSingle> GenChange() {
  return rc::gen::map(
      // Additions outweigh removals, so configurations grow to a few
      // voters, where demotions and joint states get interesting.
      rc::gen::pair(
          rc::gen::weightedElement<int>({{3, raftpb::ConfChangeAddNode},
                                         {2, raftpb::ConfChangeAddLearnerNode},
                                         {2, raftpb::ConfChangeRemoveNode},
                                         {1, raftpb::ConfChangeUpdateNode}}),
          rc::gen::weightedOneOf<uint64_t>(
              {{1, rc::gen::just<uint64_t>(0)},
               {9, rc::gen::inRange<uint64_t>(1, kMaxId + 1)}})),
      [](const std::pair<int, uint64_t>& p) {
        raftpb::ConfChangeSingle change;
        change.set_type(static_cast<raftpb::ConfChangeType>(p.first));
        change.set_node_id(p.second);
        return change;
      });
}

// The invariants every configuration reachable by valid changes keeps,
// asserted directly (CheckInvariants would abort instead of shrinking).
void AssertConfigInvariants(const ProgressTracker& tracker) {
  const TrackerConfig& config = tracker.config;
  absl::btree_set<uint64_t> members = config.voters.IDs();
  for (uint64_t id : config.learners) {
    RC_ASSERT(!config.voters.incoming.Contains(id));
    RC_ASSERT(!config.voters.outgoing.Contains(id));
    members.insert(id);
  }
  if (!config.voters.IsJoint()) {
    RC_ASSERT(config.learners_next.empty());
    RC_ASSERT(!config.auto_leave);
  }
  for (uint64_t id : config.learners_next) {
    RC_ASSERT(config.voters.outgoing.Contains(id));
  }
  absl::btree_set<uint64_t> tracked;
  for (const auto& [id, pr] : tracker.progress) {
    tracked.insert(id);
    RC_ASSERT(pr.is_learner == config.learners.contains(id));
  }
  RC_ASSERT(members == tracked);
}

// Restoring the ConfState of the configuration gives the same configuration
// and the same members in the same roles.
void AssertRestoreReproduces(const ProgressTracker& tracker) {
  const raftpb::ConfState cs = tracker.ConfState();
  ProgressTracker fresh(tracker.max_inflight(), tracker.max_inflight_bytes());
  absl::StatusOr<ConfChangeResult> restored = Restore(cs, Changer(fresh, 5));
  RC_ASSERT(restored.ok());
  RC_ASSERT(restored->config == tracker.config);
  RC_ASSERT(restored->progress.size() == tracker.progress.size());
  for (const auto& [id, pr] : tracker.progress) {
    auto it = restored->progress.find(id);
    RC_ASSERT(it != restored->progress.end());
    RC_ASSERT(it->second.is_learner == pr.is_learner);
  }
}

RC_GTEST_PROP(ChangerPropertyTest, RandomChangesKeepInvariants, ()) {
  ProgressTracker tracker(4, 0);
  // Start from one to three voters, as a bootstrapped group does; from an
  // empty configuration most changes are rejected.
  const int initial_voters = *rc::gen::inRange(1, 4);
  for (int id = 1; id <= initial_voters; ++id) {
    absl::StatusOr<ConfChangeResult> bootstrap =
        Changer(tracker, 0).Simple(Changes(absl::StrCat("v", id)));
    RC_ASSERT(bootstrap.ok());
    tracker.config = std::move(bootstrap->config);
    tracker.progress = std::move(bootstrap->progress);
  }
  const int steps = *rc::gen::inRange(1, 40);
  int applied = 0;
  bool staged_learner = false;
  for (int step = 0; step < steps; ++step) {
    // 0 simple, 1 enter joint (auto leave), 2 enter joint, 3 leave joint;
    // mostly the ones valid in the current state, sometimes any.
    const int op = *rc::gen::weightedOneOf<int>(
        {{1, rc::gen::inRange(0, 4)},
         {3, tracker.config.voters.IsJoint() ? rc::gen::just(3)
                                             : rc::gen::inRange(0, 3)}});
    const auto changes =
        *rc::gen::container<std::vector<raftpb::ConfChangeSingle>>(
            *rc::gen::inRange<size_t>(0, op == 0 ? 2 : 4), GenChange());
    const uint64_t last_index = *rc::gen::inRange<uint64_t>(0, 100);
    Changer changer(tracker, last_index);
    absl::StatusOr<ConfChangeResult> result =
        op == 0   ? changer.Simple(changes)
        : op == 3 ? changer.LeaveJoint()
                  : changer.EnterJoint(op == 1, changes);
    if (!result.ok()) {
      RC_ASSERT(changer.config() == tracker.config);
      continue;
    }
    if (op == 0) {
      // A simple change moves at most one voter.
      size_t diff = 0;
      for (uint64_t id : tracker.config.voters.incoming) {
        diff += !result->config.voters.incoming.Contains(id);
      }
      for (uint64_t id : result->config.voters.incoming) {
        diff += !tracker.config.voters.incoming.Contains(id);
      }
      RC_ASSERT(diff <= 1u);
    }
    ++applied;
    tracker.config = std::move(result->config);
    tracker.progress = std::move(result->progress);
    tracker.CheckInvariants();
    AssertConfigInvariants(tracker);
    AssertRestoreReproduces(tracker);
    staged_learner = staged_learner || !tracker.config.learners_next.empty();
  }
  RC_CLASSIFY(applied > steps / 2, "most changes applied");
  RC_CLASSIFY(staged_learner, "a voter was staged in learners_next");
}

// A random ConfState of the shape a valid sequence of changes produces.
rc::Gen<raftpb::ConfState> GenConfState() {
  return rc::gen::exec([] {
    raftpb::ConfState cs;
    // Each id gets a role: 0 none, 1 voter, 2 learner, and, while joint,
    // whether it is an outgoing voter (then not a learner) and, if it is
    // no incoming voter, whether it is staged as learner.
    const bool joint = *rc::gen::arbitrary<bool>();
    bool any_voter = false;
    bool any_outgoing = false;
    for (uint64_t id = 1; id <= kMaxId; ++id) {
      const bool outgoing = joint && *rc::gen::arbitrary<bool>();
      const int role = *rc::gen::inRange(0, 3);
      if (role == 1) {
        cs.add_voters(id);
        any_voter = true;
      }
      if (outgoing) {
        cs.add_voters_outgoing(id);
        any_outgoing = true;
        if (role == 2) cs.add_learners_next(id);
      } else if (role == 2) {
        cs.add_learners(id);
      }
    }
    if (!any_voter) cs.add_voters(kMaxId + 1);
    if (joint && !any_outgoing) cs.add_voters_outgoing(kMaxId + 2);
    cs.set_auto_leave(joint && *rc::gen::arbitrary<bool>());
    return cs;
  });
}

RC_GTEST_PROP(RestorePropertyTest, ConfStateRoundTrips, ()) {
  const raftpb::ConfState cs = *GenConfState();
  ProgressTracker tracker(4, 0);
  absl::StatusOr<ConfChangeResult> result = Restore(cs, Changer(tracker, 7));
  RC_ASSERT(result.ok());
  tracker.config = std::move(result->config);
  tracker.progress = std::move(result->progress);
  tracker.CheckInvariants();
  AssertConfigInvariants(tracker);
  RC_ASSERT(tracker.ConfState().SerializeAsString() == cs.SerializeAsString());
}

}  // namespace
}  // namespace etcdpp::raft
