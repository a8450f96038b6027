#include "raft/quorum.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/check.h"

namespace etcdpp::raft {

const char* VoteResultName(VoteResult result) {
  switch (result) {
    case raft::VoteResult::kPending:
      return "Pending";
    case raft::VoteResult::kLost:
      return "Lost";
    case raft::VoteResult::kWon:
      return "Won";
  }
  return "Unknown";
}

std::optional<uint64_t> MapAckIndexer::AckedIndex(uint64_t voter_id) const {
  auto it = acked_.find(voter_id);
  if (it == acked_.end()) return std::nullopt;
  return it->second;
}

uint64_t MajorityConfig::CommittedIndex(const AckedIndexer& acked) const {
  const size_t n = ids_.size();
  if (n == 0) return std::numeric_limits<uint64_t>::max();

  // Voters that have not reported stay 0: they may still report, so they
  // cannot be counted towards any index above 0.
  std::vector<uint64_t> indexes(n, 0);
  size_t i = 0;
  for (uint64_t id : ids_) {
    indexes[i++] = acked.AckedIndex(id).value_or(0);
  }
  std::sort(indexes.begin(), indexes.end());

  // After sorting ascending, the quorum-th highest index is acked by the
  // quorum of voters at and above its position, and no higher index is.
  const size_t quorum = n / 2 + 1;
  const size_t pos = n - quorum;
  CHECK_LT(pos, n) << "the quorum position lies inside the configuration";
  return indexes[pos];
}

VoteResult MajorityConfig::VoteResult(
    const absl::flat_hash_map<uint64_t, bool>& votes) const {
  if (ids_.empty()) return raft::VoteResult::kWon;

  size_t granted = 0;
  size_t missing = 0;
  for (uint64_t id : ids_) {
    auto it = votes.find(id);
    if (it == votes.end()) {
      ++missing;
    } else if (it->second) {
      ++granted;
    }
  }
  const size_t quorum = ids_.size() / 2 + 1;
  if (granted >= quorum) return raft::VoteResult::kWon;
  // If every missing vote were a grant and that still fell short, the
  // election cannot be won any more.
  if (granted + missing >= quorum) return raft::VoteResult::kPending;
  return raft::VoteResult::kLost;
}

namespace {

// One row of MajorityConfig::Describe.
struct DescribeRow {
  uint64_t id;
  uint64_t index;
  bool reported;
  size_t bar;
};

}  // namespace

std::string MajorityConfig::Describe(const AckedIndexer& acked) const {
  if (ids_.empty()) return "<empty majority quorum>";
  const size_t n = ids_.size();
  std::vector<DescribeRow> rows;
  rows.reserve(n);
  for (uint64_t id : ids_) {
    std::optional<uint64_t> index = acked.AckedIndex(id);
    rows.push_back({id, index.value_or(0), index.has_value(), 0});
  }
  // The i-th smallest index gets a bar of length i; ties share the bar of
  // the first of them, so equal indexes draw equal bars.
  std::sort(rows.begin(), rows.end(),
            [](const DescribeRow& a, const DescribeRow& b) {
              if (a.index != b.index) return a.index < b.index;
              return a.id < b.id;
            });
  for (size_t i = 1; i < n; ++i) {
    rows[i].bar = rows[i - 1].index < rows[i].index ? i : rows[i - 1].bar;
  }
  std::sort(
      rows.begin(), rows.end(),
      [](const DescribeRow& a, const DescribeRow& b) { return a.id < b.id; });

  std::string out = std::string(n, ' ') + "    idx\n";
  for (const DescribeRow& row : rows) {
    if (row.reported) {
      absl::StrAppend(&out, std::string(row.bar, 'x'), ">",
                      std::string(n - row.bar, ' '));
    } else {
      absl::StrAppend(&out, "?", std::string(n, ' '));
    }
    absl::StrAppend(&out,
                    absl::StrFormat(" %5d    (id=%d)\n", row.index, row.id));
  }
  return out;
}

std::string MajorityConfig::ToString() const {
  return absl::StrCat("(", absl::StrJoin(ids_, " "), ")");
}

std::vector<uint64_t> MajorityConfig::Slice() const {
  return std::vector<uint64_t>(ids_.begin(), ids_.end());
}

uint64_t JointConfig::CommittedIndex(const AckedIndexer& acked) const {
  // An index is committed only once both halves committed it.
  return std::min(incoming.CommittedIndex(acked),
                  outgoing.CommittedIndex(acked));
}

VoteResult JointConfig::VoteResult(
    const absl::flat_hash_map<uint64_t, bool>& votes) const {
  const raft::VoteResult in = incoming.VoteResult(votes);
  const raft::VoteResult out = outgoing.VoteResult(votes);
  if (in == out) return in;
  // One lost half loses the whole election, whatever the other does.
  if (in == raft::VoteResult::kLost || out == raft::VoteResult::kLost) {
    return raft::VoteResult::kLost;
  }
  // One half won and the other is still open.
  return raft::VoteResult::kPending;
}

std::string JointConfig::Describe(const AckedIndexer& acked) const {
  return MajorityConfig(IDs()).Describe(acked);
}

std::string JointConfig::ToString() const {
  if (outgoing.empty()) return incoming.ToString();
  return absl::StrCat(incoming.ToString(), "&&", outgoing.ToString());
}

absl::btree_set<uint64_t> JointConfig::IDs() const {
  absl::btree_set<uint64_t> ids = incoming.ids();
  ids.insert(outgoing.begin(), outgoing.end());
  return ids;
}

}  // namespace etcdpp::raft
