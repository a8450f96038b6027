#include "raft/testing/interaction.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/check.h"
#include "raft/confchange.h"

namespace etcdpp::raft::testing {
namespace {

uint64_t ParseId(const std::string& s) {
  uint64_t v = 0;
  CHECK(absl::SimpleAtoi(absl::string_view(s.data(), s.size()), &v))
      << "a script number: " << s;
  return v;
}

std::vector<uint64_t> ParseIdList(const std::string& s) {
  std::vector<uint64_t> out;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(s.data(), s.size()), ',',
                      absl::SkipEmpty())) {
    out.push_back(ParseId(std::string(part)));
  }
  return out;
}

std::string Quote(const std::string& s) { return absl::StrCat("\"", s, "\""); }

std::string Ids(const google::protobuf::RepeatedField<uint64_t>& ids) {
  return absl::StrCat("(", absl::StrJoin(ids, " "), ")");
}

std::string DescribeChanges(const raftpb::ConfChangeV2& cc) {
  std::vector<std::string> parts;
  for (const raftpb::ConfChangeSingle& c : cc.changes()) {
    const char* kind = "?";
    switch (c.type()) {
      case raftpb::ConfChangeAddNode:
        kind = "v";
        break;
      case raftpb::ConfChangeAddLearnerNode:
        kind = "l";
        break;
      case raftpb::ConfChangeRemoveNode:
        kind = "r";
        break;
      case raftpb::ConfChangeUpdateNode:
        kind = "u";
        break;
      default:
        break;
    }
    parts.push_back(absl::StrCat(kind, c.node_id()));
  }
  if (parts.empty()) parts.push_back("leave-joint");
  if (cc.transition() == raftpb::ConfChangeTransitionJointImplicit) {
    parts.push_back("(implicit)");
  } else if (cc.transition() == raftpb::ConfChangeTransitionJointExplicit) {
    parts.push_back("(explicit)");
  }
  return absl::StrJoin(parts, " ");
}

}  // namespace

Command ParseCommand(std::string_view line) {
  Command cmd;
  for (absl::string_view tok : absl::StrSplit(
           absl::string_view(line.data(), line.size()), ' ', absl::SkipEmpty())) {
    if (cmd.name.empty()) {
      cmd.name = std::string(tok);
      continue;
    }
    const size_t eq = tok.find('=');
    if (eq == absl::string_view::npos) {
      cmd.args.emplace_back(tok);
    } else {
      cmd.kv[std::string(tok.substr(0, eq))] = std::string(tok.substr(eq + 1));
    }
  }
  return cmd;
}

std::string DescribeEntry(const raftpb::Entry& e) {
  std::string out = absl::StrCat(e.term(), "/", e.index(), " ",
                                 raftpb::EntryType_Name(e.type()));
  if (e.type() == raftpb::EntryNormal) {
    if (!e.data().empty()) absl::StrAppend(&out, " ", Quote(e.data()));
  } else if (e.type() == raftpb::EntryConfChange) {
    raftpb::ConfChange cc;
    if (cc.ParseFromString(e.data())) {
      absl::StrAppend(&out, " ", DescribeChanges(ConfChangeV1ToV2(cc)));
    }
  } else {
    raftpb::ConfChangeV2 cc;
    if (cc.ParseFromString(e.data())) {
      absl::StrAppend(&out, " ", DescribeChanges(cc));
    }
  }
  return out;
}

std::string DescribeConfState(const raftpb::ConfState& cs) {
  std::string out = absl::StrCat("voters=", Ids(cs.voters()));
  if (cs.voters_outgoing_size() > 0) {
    absl::StrAppend(&out, "&&", Ids(cs.voters_outgoing()));
  }
  if (cs.learners_size() > 0) {
    absl::StrAppend(&out, " learners=", Ids(cs.learners()));
  }
  if (cs.learners_next_size() > 0) {
    absl::StrAppend(&out, " learners_next=", Ids(cs.learners_next()));
  }
  if (cs.auto_leave()) out += " autoleave";
  return out;
}

std::string DescribeMessage(const raftpb::Message& m) {
  std::string out = absl::StrCat(m.from(), "->", m.to(), " ",
                                 raftpb::MessageType_Name(m.type()),
                                 " Term:", m.term());
  const raftpb::MessageType t = m.type();
  if (t == raftpb::MsgApp || t == raftpb::MsgVote || t == raftpb::MsgPreVote) {
    absl::StrAppend(&out, " Log:", m.log_term(), "/", m.index());
  } else if (m.index() != 0) {
    absl::StrAppend(&out, " Index:", m.index());
  }
  if (m.commit() != 0) absl::StrAppend(&out, " Commit:", m.commit());
  if (m.reject()) {
    out += " Rejected";
    if (t == raftpb::MsgAppResp) {
      absl::StrAppend(&out, " (Hint: ", m.reject_hint(), " Term:", m.log_term(),
                      ")");
    }
  }
  if (!m.context().empty()) absl::StrAppend(&out, " Context:", m.context());
  if (m.entries_size() > 0) {
    std::vector<std::string> es;
    for (const raftpb::Entry& e : m.entries()) {
      if (t == raftpb::MsgReadIndex || t == raftpb::MsgReadIndexResp) {
        es.push_back(Quote(e.data()));
      } else {
        es.push_back(DescribeEntry(e));
      }
    }
    absl::StrAppend(&out, " Entries:[", absl::StrJoin(es, ", "), "]");
  }
  if (m.has_snapshot()) {
    const raftpb::SnapshotMetadata& md = m.snapshot().metadata();
    absl::StrAppend(&out, " Snapshot: Index:", md.index(), " Term:", md.term(),
                    " ", DescribeConfState(md.conf_state()));
  }
  return out;
}

InteractionEnv::Node& InteractionEnv::N(uint64_t id) {
  auto it = nodes_.find(id);
  CHECK(it != nodes_.end()) << "a script names an existing node: " << id;
  return it->second;
}

void InteractionEnv::Err(const absl::Status& s) {
  if (!s.ok()) Out(absl::StrCat("error: ", s.ToString()));
}

std::vector<uint64_t> InteractionEnv::Ids(const Command& cmd) const {
  std::vector<uint64_t> ids;
  for (const std::string& a : cmd.args) ids.push_back(ParseId(a));
  if (ids.empty()) {
    for (const auto& [id, n] : nodes_) ids.push_back(id);
  }
  return ids;
}

void InteractionEnv::NoteChanges() {
  for (auto& [id, n] : nodes_) {
    const Raft& r = n.node->raft();
    const Observed now{r.state(), r.term(), r.lead()};
    auto it = observed_.find(id);
    if (it != observed_.end() && it->second == now) continue;
    observed_[id] = now;
    Out(absl::StrCat("INFO ", id, " is ", StateTypeName(r.state()),
                     " term=", r.term(), " lead=", r.lead()));
  }
}

std::vector<std::string> InteractionEnv::Handle(const Command& cmd) {
  out_.clear();
  const std::string& c = cmd.name;
  auto arg = [&](size_t k) {
    CHECK_LT(k, cmd.args.size()) << c << " takes an argument " << k;
    return cmd.args[k];
  };
  if (c == "add-nodes") {
    AddNodes(cmd);
  } else if (c == "campaign") {
    Campaign(ParseId(arg(0)));
  } else if (c == "propose") {
    Propose(ParseId(arg(0)), arg(1));
  } else if (c == "propose-conf-change") {
    ProposeConfChange(cmd);
  } else if (c == "tick-election") {
    TickElection(ParseId(arg(0)));
  } else if (c == "tick") {
    Node& n = N(ParseId(arg(0)));
    const uint64_t count = ParseId(arg(1));
    for (uint64_t k = 0; k < count; ++k) {
      n.node->Tick();
      NoteChanges();
    }
  } else if (c == "tick-heartbeat") {
    TickHeartbeat(ParseId(arg(0)));
  } else if (c == "ready") {
    for (uint64_t id : Ids(cmd)) GetReady(id);
  } else if (c == "persist") {
    for (uint64_t id : Ids(cmd)) Persist(id, true);
  } else if (c == "process-ready") {
    for (uint64_t id : Ids(cmd)) ProcessReady(id);
  } else if (c == "deliver-msgs") {
    const bool drop = cmd.kv.contains("drop") && cmd.kv.at("drop") == "true";
    for (uint64_t id : Ids(cmd)) DeliverMsgs(id, drop);
  } else if (c == "stabilize") {
    Stabilize(Ids(cmd));
  } else if (c == "isolate") {
    isolated_.insert(ParseId(arg(0)));
  } else if (c == "heal") {
    isolated_.clear();
  } else if (c == "status") {
    Status(ParseId(arg(0)));
  } else if (c == "raft-state") {
    RaftState();
  } else if (c == "raft-log") {
    RaftLog(ParseId(arg(0)));
  } else if (c == "transfer-leadership") {
    const uint64_t from = ParseId(cmd.kv.at("from"));
    N(from).node->TransferLeader(ParseId(cmd.kv.at("to")));
  } else if (c == "read-index") {
    Err(N(ParseId(arg(0))).node->ReadIndex(arg(1)));
  } else if (c == "compact") {
    Compact(ParseId(arg(0)), ParseId(arg(1)));
  } else if (c == "report-unreachable") {
    N(ParseId(arg(0))).node->ReportUnreachable(ParseId(arg(1)));
  } else if (c == "report-snapshot") {
    const bool failed =
        cmd.kv.contains("failed") && cmd.kv.at("failed") == "true";
    N(ParseId(arg(0))).node->ReportSnapshot(
        ParseId(arg(1)),
        failed ? SnapshotStatus::kFailure : SnapshotStatus::kFinish);
  } else if (c == "forget-leader") {
    Err(N(ParseId(arg(0))).node->ForgetLeader());
  } else {
    CHECK(false) << "unknown script command: " << c;
  }
  NoteChanges();
  for (auto& [id, n] : nodes_) n.node->CheckInvariants();
  if (out_.empty()) out_.push_back("ok");
  return std::move(out_);
}

void InteractionEnv::AddNodes(const Command& cmd) {
  const uint64_t count = ParseId(cmd.args.at(0));
  auto flag = [&](const char* k) {
    auto it = cmd.kv.find(k);
    return it != cmd.kv.end() && it->second == "true";
  };
  raftpb::ConfState cs;
  if (cmd.kv.contains("voters")) {
    for (uint64_t v : ParseIdList(cmd.kv.at("voters"))) cs.add_voters(v);
  }
  if (cmd.kv.contains("learners")) {
    for (uint64_t v : ParseIdList(cmd.kv.at("learners"))) cs.add_learners(v);
  }
  const bool bootstrap = cs.voters_size() > 0 || cs.learners_size() > 0;
  uint64_t next = nodes_.empty() ? 1 : nodes_.rbegin()->first + 1;
  for (uint64_t k = 0; k < count; ++k, ++next) {
    Node n;
    n.storage = std::make_unique<SnapStorage>();
    // As etcd's rafttest does: a member of the initial configuration starts
    // from a snapshot at index 1, term 1 that holds it; a joining node
    // starts empty and gets its configuration by snapshot.
    raftpb::Snapshot snap;
    *snap.mutable_metadata()->mutable_conf_state() = cs;
    if (bootstrap) {
      snap.mutable_metadata()->set_index(1);
      snap.mutable_metadata()->set_term(1);
    }
    CHECK_OK(n.storage->ApplySnapshot(snap));
    if (bootstrap) {
      raftpb::HardState hs;
      hs.set_term(1);
      hs.set_commit(1);
      n.storage->SetHardState(hs);
    }
    n.storage->conf_state = cs;
    n.storage->applied = snap.metadata().index();
    Config& c = n.config;
    c.id = next;
    c.election_ticks = 10;
    c.heartbeat_ticks = 1;
    c.seed = next;
    c.storage = n.storage.get();
    c.max_size_per_msg = kNoLimit;
    c.max_inflight_msgs = 256;
    c.pre_vote = flag("pre-vote");
    c.check_quorum = flag("check-quorum");
    if (cmd.kv.contains("read-only") && cmd.kv.at("read-only") == "lease") {
      c.read_only_option = ReadOnlyOption::kLeaseBased;
    }
    if (cmd.kv.contains("max-inflight")) {
      c.max_inflight_msgs = ParseId(cmd.kv.at("max-inflight"));
    }
    if (cmd.kv.contains("heartbeat")) {
      c.heartbeat_ticks = static_cast<int>(ParseId(cmd.kv.at("heartbeat")));
    }
    if (cmd.kv.contains("max-size")) {
      c.max_size_per_msg = ParseId(cmd.kv.at("max-size"));
    }
    c.disable_proposal_forwarding =
        cmd.kv.contains("forwarding") && cmd.kv.at("forwarding") == "false";
    absl::StatusOr<std::unique_ptr<RawNode>> node = RawNode::Create(c);
    CHECK_OK(node.status());
    n.node = *std::move(node);
    Out(absl::StrCat("INFO ", next, " added: ", DescribeConfState(cs)));
    nodes_[next] = std::move(n);
  }
}

void InteractionEnv::Campaign(uint64_t id) { Err(N(id).node->Campaign()); }

void InteractionEnv::Propose(uint64_t id, const std::string& data) {
  Err(N(id).node->Propose(data));
}

void InteractionEnv::ProposeConfChange(const Command& cmd) {
  const uint64_t id = ParseId(cmd.args.at(0));
  raftpb::ConfChangeV2 cc;
  for (size_t k = 1; k < cmd.args.size(); ++k) {
    const std::string& a = cmd.args[k];
    CHECK_GE(a.size(), 2u) << "a change is a letter and an id: " << a;
    raftpb::ConfChangeSingle* s = cc.add_changes();
    s->set_node_id(ParseId(a.substr(1)));
    switch (a[0]) {
      case 'v':
        s->set_type(raftpb::ConfChangeAddNode);
        break;
      case 'l':
        s->set_type(raftpb::ConfChangeAddLearnerNode);
        break;
      case 'r':
        s->set_type(raftpb::ConfChangeRemoveNode);
        break;
      case 'u':
        s->set_type(raftpb::ConfChangeUpdateNode);
        break;
      default:
        CHECK(false) << "a change is v, l, r or u: " << a;
    }
  }
  auto it = cmd.kv.find("transition");
  if (it != cmd.kv.end()) {
    if (it->second == "implicit") {
      cc.set_transition(raftpb::ConfChangeTransitionJointImplicit);
    } else if (it->second == "explicit") {
      cc.set_transition(raftpb::ConfChangeTransitionJointExplicit);
    } else {
      CHECK(it->second == "auto") << "transition is auto|implicit|explicit";
    }
  }
  if (cmd.kv.contains("v1") && cmd.kv.at("v1") == "true") {
    CHECK_EQ(cc.changes_size(), 1) << "a v1 change is one change";
    raftpb::ConfChange v1;
    v1.set_type(cc.changes(0).type());
    v1.set_node_id(cc.changes(0).node_id());
    Err(N(id).node->ProposeConfChange(v1));
    return;
  }
  Err(N(id).node->ProposeConfChange(cc));
}

void InteractionEnv::TickElection(uint64_t id) {
  Node& n = N(id);
  const Raft& r = n.node->raft();
  int ticks = n.config.election_ticks;
  if (r.state() != StateType::kLeader) {
    ticks = std::max(1, r.randomized_election_timeout() - r.election_elapsed());
  }
  for (int k = 0; k < ticks; ++k) {
    n.node->Tick();
    NoteChanges();
  }
}

void InteractionEnv::TickHeartbeat(uint64_t id) {
  Node& n = N(id);
  for (int k = 0; k < n.config.heartbeat_ticks; ++k) {
    n.node->Tick();
    NoteChanges();
  }
}

bool InteractionEnv::ProcessReady(uint64_t id) {
  if (N(id).pending.has_value()) return Persist(id, true);
  return GetReady(id) && Persist(id, false);
}

bool InteractionEnv::GetReady(uint64_t id) {
  Node& n = N(id);
  if (n.pending.has_value() || !n.node->HasReady()) return false;
  n.pending = n.node->GetReady();
  Ready& rd = *n.pending;
  Out(absl::StrCat("> ", id, " handling Ready"));
  Out(absl::StrCat("  Ready MustSync=", rd.must_sync ? "true" : "false", ":"));
  if (rd.soft_state.has_value()) {
    Out(absl::StrCat("  State:", StateTypeName(rd.soft_state->raft_state),
                     " Lead:", rd.soft_state->lead));
  }
  if (rd.hard_state.has_value()) {
    Out(absl::StrCat("  HardState Term:", rd.hard_state->term(),
                     " Vote:", rd.hard_state->vote(),
                     " Commit:", rd.hard_state->commit()));
  }
  if (rd.snapshot.has_value()) {
    const raftpb::SnapshotMetadata& md = rd.snapshot->metadata();
    Out(absl::StrCat("  Snapshot Index:", md.index(), " Term:", md.term(), " ",
                     DescribeConfState(md.conf_state())));
  }
  auto list = [&](const char* title, const auto& items, auto describe) {
    if (items.empty()) return;
    Out(absl::StrCat("  ", title, ":"));
    for (const auto& item : items) Out(absl::StrCat("  ", describe(item)));
  };
  list("Entries", rd.entries, DescribeEntry);
  list("CommittedEntries", rd.committed_entries, DescribeEntry);
  list("Messages", rd.messages, DescribeMessage);
  list("MessagesAfterPersist", rd.messages_after_persist, DescribeMessage);
  list("ReadStates", rd.read_states, [](const ReadState& rs) {
    return absl::StrCat("Index:", rs.index, " Context:", rs.request_ctx);
  });
  // Messages that need no persist go out at once.
  for (raftpb::Message& m : rd.messages) msgs_.push_back(std::move(m));
  rd.messages.clear();
  return true;
}

bool InteractionEnv::Persist(uint64_t id, bool announce) {
  Node& n = N(id);
  if (!n.pending.has_value()) return false;
  Ready rd = std::move(*n.pending);
  n.pending.reset();
  if (announce) Out(absl::StrCat("> ", id, " persisting and applying"));
  // Persist, then send what waited for it, then apply.
  if (rd.snapshot.has_value()) CHECK_OK(n.storage->ApplySnapshot(*rd.snapshot));
  CHECK_OK(n.storage->Append(rd.entries));
  if (rd.hard_state.has_value()) n.storage->SetHardState(*rd.hard_state);
  for (raftpb::Message& m : rd.messages_after_persist) {
    msgs_.push_back(std::move(m));
  }
  for (const raftpb::Entry& e : rd.committed_entries) {
    absl::StatusOr<raftpb::ConfState> cs;
    if (e.type() == raftpb::EntryConfChange) {
      raftpb::ConfChange cc;
      CHECK(cc.ParseFromString(e.data())) << "a committed change parses";
      cs = n.node->ApplyConfChange(cc);
    } else if (e.type() == raftpb::EntryConfChangeV2) {
      raftpb::ConfChangeV2 cc;
      CHECK(cc.ParseFromString(e.data())) << "a committed change parses";
      cs = n.node->ApplyConfChange(cc);
    } else {
      continue;
    }
    if (cs.ok()) {
      n.storage->conf_state = *cs;
      Out(absl::StrCat("  INFO ", id, " applied ", e.index(), ": ",
                       DescribeConfState(*cs)));
    } else {
      Out(absl::StrCat("  INFO ", id, " refused ", e.index(), ": ",
                       cs.status().ToString()));
    }
  }
  if (rd.snapshot.has_value()) {
    n.storage->applied = rd.snapshot->metadata().index();
    n.storage->conf_state = rd.snapshot->metadata().conf_state();
  }
  if (!rd.committed_entries.empty()) {
    n.storage->applied = rd.committed_entries.back().index();
  }
  n.node->Advance();
  NoteChanges();
  return true;
}

bool InteractionEnv::DeliverMsgs(uint64_t id, bool drop) {
  std::vector<raftpb::Message> mine;
  std::vector<raftpb::Message> rest;
  for (raftpb::Message& m : msgs_) {
    (m.to() == id ? mine : rest).push_back(std::move(m));
  }
  msgs_ = std::move(rest);
  if (mine.empty()) return false;
  if (!drop) Out(absl::StrCat("> ", id, " receiving messages"));
  for (const raftpb::Message& m : mine) {
    if (drop || isolated_.contains(m.from()) || isolated_.contains(m.to()) ||
        !nodes_.contains(m.to())) {
      Out(absl::StrCat("  dropped: ", DescribeMessage(m)));
      continue;
    }
    if (!drop) Out(absl::StrCat("  ", DescribeMessage(m)));
    const absl::Status s = N(id).node->Step(m);
    if (!s.ok()) Out(absl::StrCat("  error: ", s.ToString()));
    NoteChanges();
  }
  return true;
}

void InteractionEnv::Stabilize(const std::vector<uint64_t>& ids) {
  for (int round = 0; round < 1000; ++round) {
    bool any = false;
    for (uint64_t id : ids) any = ProcessReady(id) || any;
    for (uint64_t id : ids) any = DeliverMsgs(id, false) || any;
    if (!any) return;
  }
  CHECK(false) << "stabilize settles within 1000 rounds";
}

void InteractionEnv::Status(uint64_t id) {
  const raft::Status s = N(id).node->GetStatus();
  if (s.progress.empty()) {
    Out(absl::StrCat(id, " is not the leader: ",
                     StateTypeName(s.soft_state.raft_state)));
    return;
  }
  for (const auto& [peer, pr] : s.progress) {
    Out(absl::StrCat(peer, ": ", pr.ToString()));
  }
  if (s.lead_transferee != kNone) {
    Out(absl::StrCat("transferring to ", s.lead_transferee));
  }
}

void InteractionEnv::RaftState() {
  for (auto& [id, n] : nodes_) {
    const Raft& r = n.node->raft();
    const auto& pr = r.tracker().progress;
    auto it = pr.find(id);
    const char* role = it == pr.end()          ? "(Non-Member)"
                       : it->second.is_learner ? "(Learner)"
                                               : "(Voter)";
    Out(absl::StrCat(id, ": ", StateTypeName(r.state()), " ", role,
                     " Term:", r.term(), " Lead:", r.lead(),
                     " Commit:", r.log().committed(),
                     " Applied:", r.log().applied()));
  }
}

void InteractionEnv::RaftLog(uint64_t id) {
  const MemoryStorage& st = *N(id).storage;
  const uint64_t first = st.FirstIndex(), last = st.LastIndex();
  if (last < first) {
    Out(absl::StrCat("log is empty: first index=", first, ", last index=",
                     last));
    return;
  }
  absl::StatusOr<std::vector<raftpb::Entry>> ents =
      st.Entries(first, last + 1, kNoLimit);
  CHECK_OK(ents.status());
  for (const raftpb::Entry& e : *ents) Out(DescribeEntry(e));
}

void InteractionEnv::Compact(uint64_t id, uint64_t index) {
  Node& n = N(id);
  const raftpb::ConfState cs = n.node->raft().tracker().ConfState();
  absl::StatusOr<raftpb::Snapshot> snap =
      n.storage->CreateSnapshot(index, &cs, "");
  if (!snap.ok()) {
    Err(snap.status());
    return;
  }
  Err(n.storage->Compact(index));
  RaftLog(id);
}

absl::StatusOr<raftpb::Snapshot> SnapStorage::Snapshot() const {
  absl::StatusOr<raftpb::Snapshot> snap = MemoryStorage::Snapshot();
  if (!snap.ok() || applied <= snap->metadata().index()) return snap;
  absl::StatusOr<uint64_t> term = Term(applied);
  CHECK_OK(term.status());
  snap->mutable_metadata()->set_index(applied);
  snap->mutable_metadata()->set_term(*term);
  *snap->mutable_metadata()->mutable_conf_state() = conf_state;
  return snap;
}

std::string RunScript(std::string_view script) {
  std::vector<std::string> lines = absl::StrSplit(
      absl::string_view(script.data(), script.size()), '\n');
  InteractionEnv env;
  std::vector<std::string> out;
  size_t i = 0;
  while (i < lines.size()) {
    const std::string& line = lines[i];
    if (line.empty() || line[0] == '#') {
      out.push_back(line);
      ++i;
      continue;
    }
    out.push_back(line);
    ++i;
    if (i < lines.size() && lines[i] == "----") {
      ++i;
      while (i < lines.size() && !lines[i].empty()) ++i;
    }
    // The blank line(s) after a command; one is written back.
    while (i < lines.size() && lines[i].empty()) ++i;
    out.push_back("----");
    for (std::string& l : env.Handle(ParseCommand(line))) {
      out.push_back(std::move(l));
    }
    out.push_back("");
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
  return absl::StrCat(absl::StrJoin(out, "\n"), "\n");
}

}  // namespace etcdpp::raft::testing
