// The linearizability checker's teeth: hand-made histories it must accept
// and reject.
#include "sim/linearizability.h"

#include <string>

#include "gtest/gtest.h"

namespace etcdpp::sim {
namespace {

class HistoryBuilder {
 public:
  Operation& Put(int client, std::string key, std::string value,
                 int64_t invoke, int64_t ret,
                 Outcome outcome = Outcome::kOk) {
    Operation& op = Add(client, OpKind::kPut, std::move(key), invoke, ret,
                        outcome);
    op.value = std::move(value);
    return op;
  }
  Operation& Get(int client, std::string key, std::string read,
                 int64_t invoke, int64_t ret) {
    Operation& op =
        Add(client, OpKind::kGet, std::move(key), invoke, ret, Outcome::kOk);
    op.read = std::move(read);
    return op;
  }
  // A range read of k0 and k1 seeing v0 and v1.
  Operation& Range(int client, std::string v0, std::string v1, int64_t invoke,
                   int64_t ret) {
    Operation& op = Add(client, OpKind::kRange, "k0", invoke, ret, Outcome::kOk);
    op.key2 = "k2";
    op.range_keys = {"k0", "k1"};
    op.range_reads = {std::move(v0), std::move(v1)};
    return op;
  }
  Operation& Add(int client, OpKind kind, std::string key, int64_t invoke,
                 int64_t ret, Outcome outcome) {
    Operation op;
    op.id = history_.size();
    op.client = client;
    op.kind = kind;
    op.key = std::move(key);
    op.invoke_us = invoke;
    op.return_us = outcome == Outcome::kOk || outcome == Outcome::kFail
                       ? ret
                       : kNever;
    op.outcome = outcome;
    history_.push_back(std::move(op));
    return history_.back();
  }
  const History& history() const { return history_; }

 private:
  History history_;
};

Verdict Check(const History& h) { return CheckLinearizability(h).verdict; }

// An unknown write the whole history lacks never took effect: it is left
// out, so a read of its value becomes the violation it is (a dirty read),
// while one the history holds stays a write that may have happened.
TEST(LinearizabilityTest, UnappliedUnknownWritesAreLeftOut) {
  HistoryBuilder b;
  b.Put(0, "k0", "a", 0, 10);
  b.Put(1, "k0", "lost", 20, 0, Outcome::kUnknown);
  b.Put(2, "k0", "maybe", 20, 0, Outcome::kUnknown);
  b.Get(3, "k0", "lost", 30, 40);
  History h = b.history();
  EXPECT_EQ(Check(h), Verdict::kOk);  // "lost" may have happened...
  const AppliedPuts applied = {{"k0", "a"}, {"k0", "maybe"}};
  EXPECT_EQ(FailUnappliedWrites(applied, &h), 1u);  // ...but never did
  EXPECT_EQ(h[1].outcome, Outcome::kFail);
  EXPECT_EQ(h[2].outcome, Outcome::kUnknown);
  EXPECT_EQ(Check(h), Verdict::kViolation);
}

// A range read sees every key at one instant: it joins the keys' groups,
// and a state no instant had (a torn read) is a violation.
TEST(LinearizabilityTest, RangeReadsSeeOneInstant) {
  HistoryBuilder ok;
  ok.Put(0, "k0", "a", 0, 10);
  ok.Put(1, "k1", "b", 20, 40);
  ok.Range(2, "a", "", 15, 25);   // before the put of k1 took effect
  ok.Range(3, "a", "b", 30, 50);  // after
  EXPECT_EQ(Check(ok.history()), Verdict::kOk);
  EXPECT_EQ(CheckLinearizability(ok.history()).groups, 1u);

  HistoryBuilder torn;
  torn.Put(0, "k0", "a", 0, 10);
  torn.Put(1, "k1", "b", 20, 30);
  torn.Put(0, "k0", "c", 40, 50);
  // k1 = b was written before k0 = c; no instant had k0 = c and k1 absent.
  torn.Range(2, "c", "", 60, 70);
  EXPECT_EQ(Check(torn.history()), Verdict::kViolation);
  // Alone, each key's reads are fine: only the joined group sees it.
  HistoryBuilder stale;
  stale.Put(0, "k0", "a", 0, 10);
  stale.Put(1, "k1", "b", 20, 30);
  stale.Range(2, "a", "", 40, 50);  // k1 = b had returned before
  EXPECT_EQ(Check(stale.history()), Verdict::kViolation);
}

TEST(LinearizabilityTest, SequentialHistoryPasses) {
  HistoryBuilder b;
  b.Put(0, "k", "a", 0, 10);
  b.Get(1, "k", "a", 20, 30);
  b.Put(0, "k", "b", 40, 50);
  b.Get(1, "k", "b", 60, 70);
  EXPECT_EQ(Check(b.history()), Verdict::kOk);
}

TEST(LinearizabilityTest, StaleReadIsRejected) {
  HistoryBuilder b;
  b.Put(0, "k", "a", 0, 10);
  b.Put(0, "k", "b", 20, 30);
  b.Get(1, "k", "a", 40, 50);  // b was acknowledged before the read began
  const LinearizabilityResult r = CheckLinearizability(b.history());
  EXPECT_EQ(r.verdict, Verdict::kViolation);
  EXPECT_NE(r.detail.find("keys {k}"), std::string::npos) << r.detail;
}

TEST(LinearizabilityTest, LostAcknowledgedWriteIsRejected) {
  HistoryBuilder b;
  b.Put(0, "k", "a", 0, 10);
  b.Get(1, "k", "", 20, 30);  // the acknowledged put vanished
  EXPECT_EQ(Check(b.history()), Verdict::kViolation);
}

TEST(LinearizabilityTest, ConcurrentReadMaySeeEitherValue) {
  HistoryBuilder b;
  b.Put(0, "k", "a", 0, 10);
  b.Put(0, "k", "b", 20, 100);
  b.Get(1, "k", "a", 30, 40);
  b.Get(2, "k", "b", 50, 60);
  EXPECT_EQ(Check(b.history()), Verdict::kOk);
}

TEST(LinearizabilityTest, ReadsMayNotGoBackInTime) {
  HistoryBuilder b;
  b.Put(0, "k", "a", 0, 10);
  b.Put(0, "k", "b", 20, 100);
  b.Get(1, "k", "b", 30, 40);
  b.Get(2, "k", "a", 50, 60);  // after someone saw b
  EXPECT_EQ(Check(b.history()), Verdict::kViolation);
}

TEST(LinearizabilityTest, UnknownWriteMayTakeEffectLateOrNever) {
  HistoryBuilder b;
  b.Put(0, "k", "a", 0, 10);
  b.Put(1, "k", "x", 20, 0, Outcome::kUnknown);
  b.Get(2, "k", "a", 30, 40);
  b.Get(2, "k", "x", 500, 510);  // took effect long after it "timed out"
  EXPECT_EQ(Check(b.history()), Verdict::kOk);
  HistoryBuilder never;
  never.Put(0, "k", "a", 0, 10);
  never.Put(1, "k", "x", 20, 0, Outcome::kUnknown);
  never.Get(2, "k", "a", 500, 510);
  EXPECT_EQ(Check(never.history()), Verdict::kOk);
}

TEST(LinearizabilityTest, FailedWriteMustNotBeSeen) {
  HistoryBuilder b;
  b.Put(1, "k", "x", 20, 30, Outcome::kFail);
  b.Get(2, "k", "x", 40, 50);
  EXPECT_EQ(Check(b.history()), Verdict::kViolation);
}

TEST(LinearizabilityTest, CasAndDeleteFollowTheModel) {
  HistoryBuilder b;
  b.Put(0, "k", "a", 0, 10);
  Operation& cas = b.Add(1, OpKind::kCas, "k", 20, 30, Outcome::kOk);
  cas.expect = "a";
  cas.value = "b";
  cas.succeeded = true;
  Operation& del = b.Add(1, OpKind::kDelete, "k", 40, 50, Outcome::kOk);
  del.deleted = 1;
  EXPECT_EQ(Check(b.history()), Verdict::kOk);
  // A second CAS from "a" cannot succeed: the value is gone.
  Operation& bad = b.Add(2, OpKind::kCas, "k", 60, 70, Outcome::kOk);
  bad.expect = "a";
  bad.value = "c";
  bad.succeeded = true;
  EXPECT_EQ(Check(b.history()), Verdict::kViolation);
}

TEST(LinearizabilityTest, MultiKeyTxnJoinsGroups) {
  HistoryBuilder b;
  b.Put(0, "k0", "a", 0, 10);
  Operation& multi = b.Add(1, OpKind::kMulti, "k0", 20, 30, Outcome::kOk);
  multi.key2 = "k1";
  multi.value = "m";
  multi.read = "a";
  b.Get(2, "k1", "", 40, 50);  // the txn's write to k1 was lost
  const LinearizabilityResult r = CheckLinearizability(b.history());
  EXPECT_EQ(r.verdict, Verdict::kViolation);
  EXPECT_EQ(r.groups, 1u);
}

TEST(LinearizabilityTest, IndependentKeysAreSeparateGroups) {
  HistoryBuilder b;
  b.Put(0, "k0", "a", 0, 10);
  b.Put(0, "k1", "b", 0, 10);
  b.Get(1, "k2", "", 0, 10);
  EXPECT_EQ(CheckLinearizability(b.history()).groups, 3u);
}

TEST(LinearizabilityTest, ExhaustedBudgetIsUnknownNotPass) {
  HistoryBuilder b;
  for (int i = 0; i < 12; ++i) {
    b.Put(i, "k", "v" + std::to_string(i), 0, 0, Outcome::kUnknown);
  }
  b.Get(99, "k", "v3", 10, 20);
  const LinearizabilityResult r = CheckLinearizability(b.history(), 5);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.detail.find("budget"), std::string::npos);
}

TEST(LinearizabilityTest, SerializableReadOfUnwrittenValueIsRejected) {
  HistoryBuilder b;
  b.Put(0, "k", "a", 0, 10);
  b.Get(1, "k", "a", 20, 30).serializable = true;
  EXPECT_TRUE(CheckSerializableReads(b.history()).empty());
  b.Get(1, "k", "zzz", 40, 50).serializable = true;
  EXPECT_EQ(CheckSerializableReads(b.history()).size(), 1u);
  // Serializable reads may be stale: never fed to the linearizability search.
  b.Put(0, "k", "b", 60, 70);
  b.Get(1, "k", "a", 80, 90).serializable = true;
  EXPECT_EQ(Check(b.history()), Verdict::kOk);
}

}  // namespace
}  // namespace etcdpp::sim
