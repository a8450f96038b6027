#include "sim/linearizability.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"

namespace etcdpp::sim {
namespace {

bool Checked(const Operation& op) {
  if (op.outcome == Outcome::kFail) return false;
  if (op.kind == OpKind::kGet || op.kind == OpKind::kRange) {
    return op.outcome == Outcome::kOk && !op.serializable;
  }
  return true;
}

bool Known(const Operation& op) { return op.outcome == Outcome::kOk; }

// The model: the values of a group's keys ("" = absent), by position.
using State = std::vector<std::string>;

class GroupModel {
 public:
  explicit GroupModel(std::vector<std::string> keys) : keys_(std::move(keys)) {}
  size_t size() const { return keys_.size(); }

  // Applies op to *state if its results are possible from *state.
  bool Step(const Operation& op, State* state) const {
    if (op.kind == OpKind::kRange) {
      for (size_t i = 0; i < op.range_keys.size(); ++i) {
        if ((*state)[Position(op.range_keys[i])] != op.range_reads[i]) {
          return false;
        }
      }
      return true;
    }
    std::string& v = (*state)[Position(op.key)];
    const bool known = Known(op);
    switch (op.kind) {
      case OpKind::kGet:
        return v == op.read;
      case OpKind::kPut:
        v = op.value;
        return true;
      case OpKind::kDelete:
        if (known && op.deleted != (v.empty() ? 0 : 1)) return false;
        v.clear();
        return true;
      case OpKind::kCas:
        if (v == op.expect) {
          if (known && !op.succeeded) return false;
          v = op.value;
          return true;
        }
        return !known || (!op.succeeded && op.read == v);
      case OpKind::kMulti: {
        if (known && op.read != v) return false;
        (*state)[Position(op.key2)] = op.value;
        return true;
      }
      case OpKind::kRange:
        break;  // above
    }
    return false;
  }

 private:
  size_t Position(const std::string& key) const {
    auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
    CHECK(it != keys_.end() && *it == key) << "ops touch only group keys";
    return static_cast<size_t>(it - keys_.begin());
  }
  std::vector<std::string> keys_;  // sorted
};

// The call and return events of a group's operations as a doubly linked
// list in time order (Porcupine's entry list). Node 0 is the head.
struct ListNode {
  int op = -1;         // index into the group's ops; -1 for the head
  bool is_call = false;
  size_t match = 0;    // a call's return node
  size_t prev = 0;
  size_t next = 0;     // 0: end of list
};

std::vector<ListNode> BuildList(const std::vector<const Operation*>& ops) {
  struct Event {
    int64_t time;
    int kind;  // calls (0) before returns (1) at one instant: concurrent
    int op;
  };
  std::vector<Event> events;
  for (int i = 0; i < static_cast<int>(ops.size()); ++i) {
    const int64_t ret = Known(*ops[i]) ? ops[i]->return_us : kNever;
    events.push_back({ops[i]->invoke_us, 0, i});
    events.push_back({ret, 1, i});
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.time, a.kind) < std::tie(b.time, b.kind);
  });
  std::vector<ListNode> list(events.size() + 1);
  std::vector<size_t> call_node(ops.size());
  for (size_t i = 0; i < events.size(); ++i) {
    ListNode& n = list[i + 1];
    n.op = events[i].op;
    n.is_call = events[i].kind == 0;
    n.prev = i;
    n.next = i + 2 < list.size() ? i + 2 : 0;
    if (n.is_call) {
      call_node[n.op] = i + 1;
    } else {
      list[call_node[n.op]].match = i + 1;
    }
  }
  list[0].next = list.size() > 1 ? 1 : 0;
  return list;
}

class Search {
 public:
  Search(std::vector<const Operation*> ops, GroupModel model, uint64_t budget)
      : ops_(std::move(ops)),
        model_(std::move(model)),
        list_(BuildList(ops_)),
        budget_(budget),
        linearized_((ops_.size() + 63) / 64, 0) {}

  Verdict Run(std::string* detail);
  uint64_t steps() const { return steps_; }

 private:
  void Lift(size_t call) {
    for (size_t n : {call, list_[call].match}) {
      list_[list_[n].prev].next = list_[n].next;
      if (list_[n].next != 0) list_[list_[n].next].prev = list_[n].prev;
    }
  }
  void Unlift(size_t call) {
    for (size_t n : {list_[call].match, call}) {
      list_[list_[n].prev].next = n;
      if (list_[n].next != 0) list_[list_[n].next].prev = n;
    }
  }
  void Flip(int op) { linearized_[op / 64] ^= uint64_t{1} << (op % 64); }
  std::string CacheKey(const State& state) const {
    std::string key(reinterpret_cast<const char*>(linearized_.data()),
                    linearized_.size() * sizeof(uint64_t));
    for (const std::string& v : state) absl::StrAppend(&key, "|", v);
    return key;
  }

  std::vector<const Operation*> ops_;
  GroupModel model_;
  std::vector<ListNode> list_;
  uint64_t budget_;
  uint64_t steps_ = 0;
  std::vector<uint64_t> linearized_;
  absl::flat_hash_set<std::string> cache_;
};

Verdict Search::Run(std::string* detail) {
  struct Frame {
    size_t call;
    State state;
  };
  std::vector<Frame> stack;
  State state(model_.size());
  size_t entry = list_[0].next;
  size_t deepest = 0;
  const Operation* stuck = nullptr;
  while (list_[0].next != 0) {
    if (++steps_ > budget_) {
      *detail = absl::StrCat("search budget of ", budget_, " steps exhausted");
      return Verdict::kUnknown;
    }
    if (list_[entry].is_call) {
      State next = state;
      const int op = list_[entry].op;
      if (model_.Step(*ops_[op], &next)) {
        Flip(op);
        if (cache_.insert(CacheKey(next)).second) {
          stack.push_back({entry, std::move(state)});
          state = std::move(next);
          Lift(entry);
          entry = list_[0].next;
          continue;
        }
        Flip(op);
      }
      entry = list_[entry].next;
      continue;
    }
    // A return reached: the op it ends was not linearized before it, so
    // the last choice was wrong. Backtrack.
    if (stack.size() >= deepest) {
      deepest = stack.size();
      stuck = ops_[list_[entry].op];
    }
    if (stack.empty()) {
      *detail = absl::StrCat(
          "no linearization: ", deepest, " of ", ops_.size(),
          " ops linearized at best, then ",
          stuck != nullptr ? stuck->Describe() : std::string("?"),
          " could not be placed");
      return Verdict::kViolation;
    }
    Frame frame = std::move(stack.back());
    stack.pop_back();
    state = std::move(frame.state);
    Flip(list_[frame.call].op);
    Unlift(frame.call);
    entry = list_[frame.call].next;
  }
  return Verdict::kOk;
}

// Union-find over keys; returns each checked op's group root key.
std::map<std::string, std::vector<const Operation*>> Partition(
    const History& history) {
  std::map<std::string, std::string> parent;
  auto find = [&parent](std::string k) {
    while (parent[k] != k) k = parent[k];
    return k;
  };
  for (const Operation& op : history) {
    if (!Checked(op)) continue;
    const std::vector<std::string> keys = op.Keys();
    for (const std::string& k : keys) parent.emplace(k, k);
    // A multi-key op joins the groups of every key it touches.
    for (size_t i = 1; i < keys.size(); ++i) {
      std::string a = find(keys[0]), b = find(keys[i]);
      if (a != b) parent[std::max(a, b)] = std::min(a, b);
    }
  }
  std::map<std::string, std::vector<const Operation*>> groups;
  for (const Operation& op : history) {
    if (Checked(op) && !op.Keys().empty()) {
      groups[find(op.Keys()[0])].push_back(&op);
    }
  }
  return groups;
}

}  // namespace

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOk:
      return "OK";
    case Verdict::kViolation:
      return "VIOLATION";
    case Verdict::kUnknown:
      return "UNKNOWN";
  }
  return "?";
}

LinearizabilityResult CheckLinearizability(const History& history,
                                           uint64_t step_budget) {
  LinearizabilityResult result;
  for (auto& [root, ops] : Partition(history)) {
    std::set<std::string> keys;
    for (const Operation* op : ops) {
      for (const std::string& k : op->Keys()) keys.insert(k);
    }
    ++result.groups;
    result.operations += ops.size();
    const size_t count = ops.size();
    Search search(std::move(ops),
                  GroupModel(std::vector<std::string>(keys.begin(), keys.end())),
                  step_budget);
    std::string detail;
    const Verdict v = search.Run(&detail);
    result.steps += search.steps();
    if (v == Verdict::kOk) continue;
    std::string where = absl::StrCat("keys {", absl::StrJoin(keys, ","),
                                     "} (", count, " ops): ", detail);
    // A violation outranks an unknown found in another group.
    if (v == Verdict::kViolation || result.verdict == Verdict::kOk) {
      result.verdict = v;
      result.detail = std::move(where);
    }
    if (v == Verdict::kViolation) break;
  }
  return result;
}

size_t FailUnappliedWrites(const AppliedPuts& applied, History* history) {
  size_t failed = 0;
  for (Operation& op : *history) {
    if (op.outcome != Outcome::kUnknown && op.outcome != Outcome::kPending) {
      continue;
    }
    std::string key;
    switch (op.kind) {
      case OpKind::kPut:
      case OpKind::kCas:
        key = op.key;
        break;
      case OpKind::kMulti:
        key = op.key2;
        break;
      case OpKind::kGet:
      case OpKind::kDelete:
      case OpKind::kRange:
        continue;
    }
    if (applied.contains({key, op.value})) continue;
    op.outcome = Outcome::kFail;
    op.error = absl::StrCat(op.error, op.error.empty() ? "" : "; ",
                            "never applied (the whole history lacks it)");
    ++failed;
  }
  return failed;
}

std::vector<std::string> CheckSerializableReads(const History& history) {
  // (key, value) -> earliest invocation of a write of it.
  std::map<std::pair<std::string, std::string>, int64_t> written;
  for (const Operation& op : history) {
    if (op.kind == OpKind::kPut || op.kind == OpKind::kCas) {
      written.emplace(std::make_pair(op.key, op.value), op.invoke_us);
    }
    if (op.kind == OpKind::kMulti) {
      written.emplace(std::make_pair(op.key2, op.value), op.invoke_us);
    }
  }
  std::vector<std::string> violations;
  for (const Operation& op : history) {
    if (op.kind != OpKind::kGet || !op.serializable ||
        op.outcome != Outcome::kOk || op.read.empty()) {
      continue;
    }
    auto it = written.find({op.key, op.read});
    if (it == written.end() || it->second > op.return_us) {
      violations.push_back(absl::StrCat(
          "serializable read returned a value never written before it: ",
          op.Describe()));
    }
  }
  return violations;
}

}  // namespace etcdpp::sim
