// Model-based property test: random sequences of put, delete, txn, range and
// compaction, applied both to the Applier and to the naive reference model
// (kv/reference_model.h), which keeps the whole history as a flat list of
// changes and answers every question by scanning it. Every response,
// status, event and revision must agree.
//
// The model is written from etcd's documented behaviour, not from our code:
// it keeps no index and no generations, and never forgets history on
// compaction (it only refuses reads below the compact revision), so it checks
// that compaction keeps every later read intact.
//
// A failure prints the minimal sequence and RapidCheck's reproduce string.
#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kv/applier.h"
#include "kv/reference_model.h"
#include "kv/request_gen.h"
#include "kv/testing.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace etcdpp::kv {
namespace {

using testing::GenRequest;
using testing::kMaxTxnOps;
using testing::SameEvents;
using testing::Uniform;

RC_GTEST_PROP(KvModelTest, ApplierMatchesNaiveHistoryModel, ()) {
  Applier applier(ApplierOptions{.txn = {.max_txn_ops = kMaxTxnOps}});
  // Grants change no key, so the model needs not know of them.
  for (const auto& grant : testing::GrantGeneratedLeases()) {
    RC_ASSERT(applier.Apply(grant).status.ok());
  }
  ReferenceModel model(kMaxTxnOps);
  const int steps = Uniform(1, 60);
  for (int step = 0; step < steps; ++step) {
    const kvpb::InternalRequest request =
        GenRequest(applier.store().current_revision());
    RC_LOG() << "step " << step << ": " << request.ShortDebugString() << "\n";
    const ApplyResult got = applier.Apply(request);
    const ModelOutcome want = model.Apply(request);
    applier.CheckInvariants();
    RC_ASSERT(got.status == want.status);
    const auto same = testing::ProtoEquals(want.response, got.response);
    if (!same) RC_LOG() << same.message() << "\n";
    RC_ASSERT(static_cast<bool>(same));
    RC_ASSERT(SameEvents(got.events, want.events));
  }
}

}  // namespace
}  // namespace etcdpp::kv
