#include "sim/history.h"

#include "absl/strings/str_cat.h"
#include "sim/trace.h"

namespace etcdpp::sim {
namespace {

const char* KindName(OpKind kind) {
  switch (kind) {
    case OpKind::kPut:
      return "put";
    case OpKind::kGet:
      return "get";
    case OpKind::kDelete:
      return "delete";
    case OpKind::kCas:
      return "cas";
    case OpKind::kMulti:
      return "multi";
    case OpKind::kRange:
      return "range";
  }
  return "?";
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPending:
      return "pending";
    case Outcome::kOk:
      return "ok";
    case Outcome::kFail:
      return "fail";
    case Outcome::kUnknown:
      return "unknown";
  }
  return "?";
}

}  // namespace

std::vector<std::string> Operation::Keys() const {
  if (kind == OpKind::kMulti) return {key, key2};
  if (kind == OpKind::kRange) return range_keys;
  return {key};
}

std::string Operation::Describe() const {
  std::string s = absl::StrCat("#", id, " c", client, " n", node, " ",
                               KindName(kind), serializable ? "(ser)" : "",
                               " ", key);
  if (kind == OpKind::kMulti) absl::StrAppend(&s, "->", key2);
  if (kind == OpKind::kRange) absl::StrAppend(&s, "..", key2);
  if (kind == OpKind::kCas) absl::StrAppend(&s, " '", expect, "'->");
  if (kind == OpKind::kPut || kind == OpKind::kCas ||
      kind == OpKind::kMulti) {
    absl::StrAppend(&s, " '", value, "'");
  }
  absl::StrAppend(&s, " ", OutcomeName(outcome));
  if (outcome == Outcome::kOk) {
    if (kind == OpKind::kGet || kind == OpKind::kMulti ||
        (kind == OpKind::kCas && !succeeded)) {
      absl::StrAppend(&s, " read='", read, "'");
    }
    if (kind == OpKind::kCas) {
      absl::StrAppend(&s, succeeded ? " succeeded" : " failed");
    }
    if (kind == OpKind::kDelete) absl::StrAppend(&s, " deleted=", deleted);
    if (kind == OpKind::kRange) {
      absl::StrAppend(&s, " read={");
      for (size_t i = 0; i < range_keys.size() && i < range_reads.size(); ++i) {
        absl::StrAppend(&s, i == 0 ? "" : ",", range_keys[i], "='",
                        range_reads[i], "'");
      }
      absl::StrAppend(&s, "}");
    }
    absl::StrAppend(&s, " rev=", revision);
  } else if (!error.empty()) {
    absl::StrAppend(&s, " (", error, ")");
  }
  absl::StrAppend(&s, " [", FormatTime(invoke_us), ",",
                  return_us == kNever ? "never" : FormatTime(return_us), "]");
  return s;
}

}  // namespace etcdpp::sim
