#include "sim/watch_checker.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kv/key_range.h"
#include "kv/revision.h"

namespace etcdpp::sim {
namespace {

std::string DescribeEvent(const mvccpb::Event& e) {
  const mvccpb::KeyValue& kv = e.kv();
  const bool del = e.type() == mvccpb::Event::DELETE;
  return absl::StrCat(
      "rev=", kv.mod_revision(), del ? " DELETE " : " PUT ", kv.key(),
      del ? "" : absl::StrCat("='", kv.value(), "'"),
      kv.lease() == 0 ? "" : absl::StrCat(" lease=", kv.lease()));
}

bool SameEvent(const mvccpb::Event& a, const mvccpb::Event& b) {
  return a.type() == b.type() && a.kv().key() == b.kv().key() &&
         a.kv().mod_revision() == b.kv().mod_revision() &&
         a.kv().create_revision() == b.kv().create_revision() &&
         a.kv().version() == b.kv().version() &&
         a.kv().value() == b.kv().value() && a.kv().lease() == b.kv().lease();
}

// What a watch of `log`'s range from `from` up to `to` must deliver.
std::vector<mvccpb::Event> Expected(const WatchLog& log,
                                    const kv::MvccStore& store, int64_t from,
                                    int64_t to) {
  std::vector<mvccpb::Event> out;
  const kv::KeyRange range = kv::KeyRange::FromRequest(log.key, log.range_end);
  for (const kv::Revision& rev : store.ChangesSince(range, from)) {
    if (rev.main > to) break;
    const mvccpb::KeyValue* kv = store.FindChange(rev);
    if (kv == nullptr) continue;
    mvccpb::Event& e = out.emplace_back();
    e.set_type(kv->create_revision() == 0 ? mvccpb::Event::DELETE
                                          : mvccpb::Event::PUT);
    *e.mutable_kv() = *kv;
  }
  return out;
}

// Why the i-th received event is not the one expected.
std::string Mismatch(const WatchLog& log, size_t i,
                     const std::vector<mvccpb::Event>& want) {
  const mvccpb::Event& got = log.events[i].event;
  const int64_t rev = got.kv().mod_revision();
  std::string kind = "differs from the history";
  bool received_later = false;
  for (size_t j = i + 1; i < want.size() && j < log.events.size(); ++j) {
    received_later = received_later || SameEvent(log.events[j].event, want[i]);
  }
  bool received_before = false;
  for (size_t j = 0; j < i; ++j) {
    received_before = received_before || SameEvent(log.events[j].event, got);
  }
  if (received_before) {
    kind = "duplicate";
  } else if (received_later ||
             (i > 0 && rev < log.events[i - 1].event.kv().mod_revision())) {
    kind = "out of order";
  } else if (i < want.size() && want[i].kv().mod_revision() < rev) {
    kind = "gap";
  }
  const WatchEventSeen& seen = log.events[i];
  return absl::StrCat(
      "watch: w", log.client, " on ", log.DescribeRange(), " from rev ",
      log.from_revision, ": event #", i, " (session ", seen.session, " on n",
      log.sessions[seen.session].node, ", at ", FormatTime(seen.at_us), ") ",
      kind, ": got ", DescribeEvent(got), ", history has ",
      i < want.size() ? DescribeEvent(want[i]) : std::string("nothing more"),
      i > 0 ? absl::StrCat(" (previous ",
                           DescribeEvent(log.events[i - 1].event), ")")
            : "");
}

}  // namespace

std::vector<std::string> CheckWatches(const std::vector<WatchLog>& logs,
                                      const kv::MvccStore& store) {
  std::vector<std::string> violations;
  for (const WatchLog& log : logs) {
    if (log.from_revision <= 0 ||
        store.compact_revision() >= log.from_revision) {
      continue;  // history the checker's store no longer has
    }
    int64_t to = log.complete_through;
    for (const WatchEventSeen& e : log.events) {
      to = std::max(to, e.event.kv().mod_revision());
    }
    if (to == 0) continue;
    std::vector<mvccpb::Event> want =
        Expected(log, store, log.from_revision, to);
    // What a compaction took from the client before it could receive it is
    // not owed; whatever it did receive must still be right.
    std::erase_if(want, [&log](const mvccpb::Event& e) {
      const int64_t rev = e.kv().mod_revision();
      for (const WatchLog::Lost& lost : log.lost) {
        if (rev < lost.first || rev > lost.last) continue;
        for (const WatchEventSeen& seen : log.events) {
          if (SameEvent(seen.event, e)) return false;
        }
        return true;
      }
      return false;
    });
    bool differs = false;
    for (size_t i = 0; i < log.events.size() && !differs; ++i) {
      if (i >= want.size() || !SameEvent(log.events[i].event, want[i])) {
        violations.push_back(Mismatch(log, i, want));
        differs = true;
      }
    }
    if (!differs && log.events.size() < want.size()) {
      violations.push_back(absl::StrCat(
          "watch: w", log.client, " on ", log.DescribeRange(),
          " missed events: got ", log.events.size(), " up to rev ", to,
          log.complete_through >= to ? " (its stream was complete there)" : "",
          ", the history has ", want.size(), " from rev ", log.from_revision,
          "; first missed: ", DescribeEvent(want[log.events.size()])));
    }
  }
  return violations;
}

std::vector<std::string> CheckWritesInStore(const History& history,
                                            const kv::MvccStore& store) {
  std::vector<std::string> violations;
  if (store.compact_revision() > 0) return violations;
  for (const Operation& op : history) {
    if (op.outcome != Outcome::kOk) continue;
    std::string key;
    bool is_delete = false;
    switch (op.kind) {
      case OpKind::kPut:
        key = op.key;
        break;
      case OpKind::kCas:
        if (op.succeeded) key = op.key;
        break;
      case OpKind::kMulti:
        key = op.key2;
        break;
      case OpKind::kDelete:
        if (op.deleted > 0) key = op.key;
        is_delete = true;
        break;
      case OpKind::kGet:
      case OpKind::kRange:
        break;
    }
    if (key.empty()) continue;
    // The key as the request left it: its last change at that revision.
    const mvccpb::KeyValue* change = nullptr;
    for (const kv::Revision& rev :
         store.ChangesSince(kv::KeyRange::Single(key), op.revision)) {
      if (rev.main != op.revision) break;
      change = store.FindChange(rev);
    }
    const bool matches =
        change != nullptr && (is_delete ? change->create_revision() == 0
                                        : change->create_revision() != 0 &&
                                              change->value() == op.value);
    if (!matches) {
      violations.push_back(absl::StrCat(
          "history: a write told OK is not in the store's history at its "
          "revision: ",
          op.Describe()));
    }
  }
  return violations;
}

std::vector<std::string> CheckReadsAtRevision(const History& history,
                                              const kv::MvccStore& store) {
  std::vector<std::string> violations;
  for (const Operation& op : history) {
    if (op.outcome != Outcome::kOk ||
        (op.kind != OpKind::kGet && op.kind != OpKind::kRange)) {
      continue;
    }
    // Compacted away (the simulator does not compact), or a revision the
    // final store never reached (the convergence checker's finding).
    if (op.revision <= store.compact_revision() ||
        op.revision > store.current_revision()) {
      continue;
    }
    etcdserverpb::RangeRequest at;
    at.set_key(op.key);
    if (op.kind == OpKind::kRange) at.set_range_end(op.key2);
    at.set_revision(op.revision);
    absl::StatusOr<etcdserverpb::RangeResponse> r = store.Range(at);
    if (!r.ok()) continue;
    std::map<std::string, std::string> values;
    for (const mvccpb::KeyValue& kv : r->kvs()) values[kv.key()] = kv.value();
    auto value = [&values](const std::string& key) {
      auto it = values.find(key);
      return it == values.end() ? std::string() : it->second;
    };
    bool matches = true;
    if (op.kind == OpKind::kGet) {
      matches = value(op.key) == op.read;
    } else {
      for (size_t i = 0; i < op.range_keys.size(); ++i) {
        matches = matches && value(op.range_keys[i]) == op.range_reads[i];
      }
    }
    if (!matches) {
      violations.push_back(absl::StrCat(
          "history: a read told OK is not the store's state at the revision "
          "its reply names: ",
          op.Describe()));
    }
  }
  return violations;
}

}  // namespace etcdpp::sim
