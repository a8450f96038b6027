#include "sim/workload.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace etcdpp::sim {
namespace {

// Timer tokens: the high byte says which kind.
constexpr uint64_t kThinkTimer = uint64_t{1} << 56;
constexpr uint64_t kTimeoutTimer = uint64_t{2} << 56;
constexpr uint64_t kArgMask = (uint64_t{1} << 56) - 1;

kvpb::InternalRequest PutRequest(const std::string& key,
                                 const std::string& value) {
  kvpb::InternalRequest r;
  r.mutable_put()->set_key(key);
  r.mutable_put()->set_value(value);
  return r;
}

kvpb::InternalRequest CasRequest(const Operation& op) {
  kvpb::InternalRequest r;
  etcdserverpb::TxnRequest* txn = r.mutable_txn();
  etcdserverpb::Compare* cmp = txn->add_compare();
  cmp->set_key(op.key);
  cmp->set_result(etcdserverpb::Compare::EQUAL);
  if (op.expect.empty()) {
    // Absent: etcd fails every VALUE compare on a missing key.
    cmp->set_target(etcdserverpb::Compare::VERSION);
    cmp->set_version(0);
  } else {
    cmp->set_target(etcdserverpb::Compare::VALUE);
    cmp->set_value(op.expect);
  }
  etcdserverpb::PutRequest* put = txn->add_success()->mutable_request_put();
  put->set_key(op.key);
  put->set_value(op.value);
  txn->add_failure()->mutable_request_range()->set_key(op.key);
  return r;
}

kvpb::InternalRequest MultiRequest(const Operation& op) {
  kvpb::InternalRequest r;
  etcdserverpb::TxnRequest* txn = r.mutable_txn();
  txn->add_success()->mutable_request_range()->set_key(op.key);
  etcdserverpb::PutRequest* put = txn->add_success()->mutable_request_put();
  put->set_key(op.key2);
  put->set_value(op.value);
  return r;
}

std::string ReadValue(const etcdserverpb::RangeResponse& range) {
  return range.kvs_size() == 0 ? "" : range.kvs(0).value();
}

}  // namespace

Workload::Workload(World* world, const WorkloadMix& mix)
    : world_(world),
      mix_(mix),
      prng_(world->ForkPrng()),
      timeout_us_(mix.client_timeout_us) {
  for (int i = 0; i < mix.clients; ++i) {
    Client c;
    c.index = i;
    clients_.push_back(std::move(c));
  }
  world_->set_client_sink(this);
}

void Workload::Start() {
  for (Client& c : clients_) Think(c);
}

void Workload::StartLiveness(int64_t bound_us) {
  issuing_ = true;
  timeout_us_ = bound_us;
  liveness_from_ = static_cast<int64_t>(history_.size());
  for (Client& c : clients_) {
    if (c.current < 0) Think(c);
  }
}

void Workload::Think(Client& client) {
  const int64_t think = static_cast<int64_t>(
      prng_.InRange(0, static_cast<uint64_t>(mix_.think_max_us)));
  world_->ScheduleTimer(think, this, kThinkTimer | client.index);
}

void Workload::OnTimer(uint64_t token) {
  const uint64_t arg = token & kArgMask;
  if ((token & ~kArgMask) == kThinkTimer) {
    Client& c = clients_[arg];
    if (issuing_ && c.current < 0) Issue(c);
    return;
  }
  OnTimeout(arg);
}

std::string Workload::Key() {
  return absl::StrCat("k", prng_.Uniform(static_cast<uint64_t>(mix_.keys)));
}

Operation Workload::Draw(Client& client) {
  Operation op;
  op.client = client.index;
  op.key = Key();
  op.value = absl::StrCat("c", client.index, ".", ++client.sequence);
  const uint32_t total = mix_.put + mix_.get_linearizable +
                         mix_.get_serializable + mix_.del + mix_.cas +
                         mix_.multi_key + mix_.range;
  uint64_t pick = prng_.Uniform(total == 0 ? 1 : total);
  auto take = [&pick](uint32_t weight) {
    if (pick < weight) return true;
    pick -= weight;
    return false;
  };
  if (take(mix_.put)) {
    op.kind = OpKind::kPut;
  } else if (take(mix_.get_linearizable)) {
    op.kind = OpKind::kGet;
  } else if (take(mix_.get_serializable)) {
    op.kind = OpKind::kGet;
    op.serializable = true;
  } else if (take(mix_.del)) {
    op.kind = OpKind::kDelete;
  } else if (take(mix_.cas)) {
    op.kind = OpKind::kCas;
    op.expect = client.seen[op.key];
  } else if (take(mix_.multi_key)) {
    op.kind = OpKind::kMulti;
    // Only k0 and k1 are ever joined: the groups stay small.
    op.key = "k0";
    op.key2 = "k1";
  } else {
    op.kind = OpKind::kRange;
    op.key = "k0";
    op.key2 = "k2";
    for (int i = 0; i < mix_.keys; ++i) {
      std::string k = absl::StrCat("k", i);
      if (k >= op.key && k < op.key2) op.range_keys.push_back(std::move(k));
    }
    std::sort(op.range_keys.begin(), op.range_keys.end());
  }
  if (op.kind == OpKind::kGet || op.kind == OpKind::kDelete ||
      op.kind == OpKind::kRange) {
    op.value.clear();
  }
  return op;
}

void Workload::Issue(Client& client) {
  Operation op = Draw(client);
  op.id = history_.size();
  const std::vector<uint64_t> live = world_->live_ids();
  op.node = live[prng_.Uniform(live.size())];
  op.invoke_us = world_->now();
  const uint64_t request_id = next_request_id_++;
  op_by_request_[request_id] = op.id;
  client.current = static_cast<int64_t>(op.id);
  Send(op, request_id);
  history_.push_back(std::move(op));
  world_->ScheduleTimer(timeout_us_, this, kTimeoutTimer | client.current);
}

void Workload::Send(const Operation& op, uint64_t request_id) {
  switch (op.kind) {
    case OpKind::kPut:
      return world_->SendPropose(op.node, request_id,
                                 PutRequest(op.key, op.value));
    case OpKind::kGet: {
      etcdserverpb::RangeRequest r;
      r.set_key(op.key);
      r.set_serializable(op.serializable);
      return world_->SendRead(op.node, request_id, std::move(r));
    }
    case OpKind::kDelete: {
      kvpb::InternalRequest r;
      r.mutable_delete_range()->set_key(op.key);
      return world_->SendPropose(op.node, request_id, std::move(r));
    }
    case OpKind::kCas:
      return world_->SendPropose(op.node, request_id, CasRequest(op));
    case OpKind::kMulti:
      return world_->SendPropose(op.node, request_id, MultiRequest(op));
    case OpKind::kRange: {
      etcdserverpb::RangeRequest r;
      r.set_key(op.key);
      r.set_range_end(op.key2);
      return world_->SendRead(op.node, request_id, std::move(r));
    }
  }
}

void Workload::OnReply(uint64_t, const server::ClientReply& reply,
                       bool immediate) {
  auto it = op_by_request_.find(reply.request_id);
  if (it == op_by_request_.end()) return;
  Operation& op = history_[it->second];
  op_by_request_.erase(it);
  if (op.outcome != Outcome::kPending) return;  // the client gave up
  if (reply.status.ok()) {
    RecordOk(op, reply);
    return Finish(op, Outcome::kOk, "");
  }
  // A write refused inside the call that took it was never proposed; any
  // other failure of a write leaves it possibly committed.
  const bool definite = !op.IsWrite() || immediate;
  Finish(op, definite ? Outcome::kFail : Outcome::kUnknown,
         std::string(reply.status.message()));
}

void Workload::RecordOk(Operation& op, const server::ClientReply& reply) {
  op.revision = reply.header.revision();
  const kvpb::InternalResponse& r = reply.response;
  switch (op.kind) {
    case OpKind::kPut:
      break;
    case OpKind::kGet:
      op.read = ReadValue(r.range());
      break;
    case OpKind::kDelete:
      op.deleted = r.delete_range().deleted();
      break;
    case OpKind::kCas:
      op.succeeded = r.txn().succeeded();
      if (!op.succeeded && r.txn().responses_size() > 0) {
        op.read = ReadValue(r.txn().responses(0).response_range());
      }
      break;
    case OpKind::kMulti:
      if (r.txn().responses_size() > 0) {
        op.read = ReadValue(r.txn().responses(0).response_range());
      }
      break;
    case OpKind::kRange: {
      std::map<std::string, std::string> values;
      for (const mvccpb::KeyValue& kv : r.range().kvs()) {
        values[kv.key()] = kv.value();
      }
      for (const std::string& k : op.range_keys) {
        auto it = values.find(k);
        op.range_reads.push_back(it == values.end() ? "" : it->second);
      }
      break;
    }
  }
}

void Workload::OnTimeout(uint64_t op_index) {
  Operation& op = history_[op_index];
  if (op.outcome != Outcome::kPending) return;
  Finish(op, op.IsWrite() ? Outcome::kUnknown : Outcome::kFail,
         "client timeout");
}

void Workload::Finish(Operation& op, Outcome outcome, std::string error) {
  op.outcome = outcome;
  op.error = std::move(error);
  op.return_us = world_->now();
  Client& client = clients_[op.client];
  CHECK_EQ(client.current, static_cast<int64_t>(op.id))
      << "a client has one operation in flight";
  client.current = -1;
  if (outcome == Outcome::kOk) {
    if (op.kind == OpKind::kGet || op.kind == OpKind::kMulti ||
        (op.kind == OpKind::kCas && !op.succeeded)) {
      client.seen[op.key] = op.read;
    }
    if (op.kind == OpKind::kPut || (op.kind == OpKind::kCas && op.succeeded)) {
      client.seen[op.key] = op.value;
    }
    if (op.kind == OpKind::kDelete) client.seen[op.key] = "";
    for (size_t i = 0; i < op.range_reads.size(); ++i) {
      client.seen[op.range_keys[i]] = op.range_reads[i];
    }
  }
  if (liveness_from_ >= 0 && static_cast<int64_t>(op.id) >= liveness_from_ &&
      outcome != Outcome::kOk) {
    liveness_violations_.push_back(absl::StrCat(
        "liveness: operation did not complete after healing: ",
        op.Describe()));
  }
  if (issuing_) Think(client);
}

int Workload::in_flight() const {
  int n = 0;
  for (const Client& c : clients_) n += c.current >= 0 ? 1 : 0;
  return n;
}

}  // namespace etcdpp::sim
