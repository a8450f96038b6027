#include "sim/lease_clients.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace etcdpp::sim {
namespace {

// Request ids of lease clients: far above the workload's, which count
// from 1, so each sink knows its own.
constexpr uint64_t kRequestBase = uint64_t{1} << 62;

// Timer tokens: the high byte says which kind.
constexpr uint64_t kStepTimer = uint64_t{1} << 56;     // arg: client
constexpr uint64_t kTimeoutTimer = uint64_t{2} << 56;  // arg: request
constexpr uint64_t kArgMask = (uint64_t{1} << 56) - 1;

// "Not leader" forwards of one keepalive before the client gives up on it.
constexpr int kMaxHops = 3;

const char* PlanName(LeaseRecord::Plan plan) {
  switch (plan) {
    case LeaseRecord::Plan::kKeepAliveThenRevoke:
      return "keepalive+revoke";
    case LeaseRecord::Plan::kKeepAliveThenExpire:
      return "keepalive+expire";
    case LeaseRecord::Plan::kRevoke:
      return "revoke";
    case LeaseRecord::Plan::kExpire:
      return "expire";
  }
  return "?";
}

std::string Time(int64_t us) { return us == kNever ? "never" : FormatTime(us); }

}  // namespace

std::string LeaseRecord::Describe() const {
  return absl::StrCat(
      "lease ", id, " of c", client, " (", PlanName(plan), ", ttl ",
      ttl_seconds, "s, granted [", Time(grant_invoke_us), ",",
      Time(grant_return_us), "], ", keys.size(), " keys, ", keepalives_ok,
      " keepalives ok, last refresh invoked ", Time(last_refresh_invoke_us),
      ", revoke invoked ", Time(revoke_invoke_us), " ok ", Time(revoke_ok_us),
      revoke_ok_us == kNever ? "" : absl::StrCat(" rev=", revoke_revision),
      ", keys deleted ", Time(deleted_applied_us),
      deleted_on.empty() ? "" : " on ", deleted_on, ")");
}

LeaseClients::LeaseClients(World* world, const Scenario& scenario, Trace* trace)
    : world_(world),
      trace_(trace),
      prng_(Fnv1a(absl::StrCat("lease-clients/", scenario.seed))),
      timeout_us_(scenario.workload.client_timeout_us) {
  for (int i = 0; i < scenario.workload.lease_clients; ++i) {
    Client c;
    c.index = i;
    clients_.push_back(c);
  }
  world_->add_client_sink(this);
  world_->add_node_observer(this);
}

void LeaseClients::Start() {
  for (Client& c : clients_) {
    Later(c, static_cast<int64_t>(prng_.InRange(0, 1000000)));
  }
}

void LeaseClients::Later(Client& c, int64_t delay_us) {
  world_->ScheduleTimer(delay_us, this, kStepTimer | c.index);
}

uint64_t LeaseClients::NewRequest(Client& c) {
  const uint64_t id = kRequestBase + ++next_request_;
  c.request = id;
  client_by_request_[id] = c.index;
  world_->ScheduleTimer(timeout_us_, this, kTimeoutTimer | next_request_);
  return id;
}

uint64_t LeaseClients::RandomNode() {
  const std::vector<uint64_t> live = world_->live_ids();
  return live[prng_.Uniform(live.size())];
}

void LeaseClients::OnTimer(uint64_t token) {
  const uint64_t arg = token & kArgMask;
  if ((token & ~kArgMask) == kStepTimer) {
    Next(clients_[arg]);
    return;
  }
  auto it = client_by_request_.find(kRequestBase + arg);
  if (it == client_by_request_.end()) return;
  Client& c = clients_[it->second];
  client_by_request_.erase(it);
  if (c.request == kRequestBase + arg) Finish(c, nullptr, 0);
}

void LeaseClients::Next(Client& c) {
  if (!running_) return;
  switch (c.step) {
    case Step::kIdle:
      return Grant(c);
    case Step::kKeepAlive:
      c.hops = 0;
      c.keepalive_invoke_us = world_->now();
      return KeepAlive(c, RandomNode());
    case Step::kRevoke:
      return Revoke(c);
    case Step::kRead:
      return Read(c);
    case Step::kGrant:
    case Step::kPut:
      break;
  }
  CHECK(false) << "a step timer is set only before a keepalive, revoke, "
                  "read or grant";
}

void LeaseClients::Grant(Client& c) {
  LeaseRecord lease;
  lease.client = c.index;
  lease.plan = static_cast<LeaseRecord::Plan>(prng_.Uniform(4));
  lease.grant_invoke_us = world_->now();
  lease.last_refresh_invoke_us = world_->now();
  c.lease = static_cast<int>(history_.leases.size());
  c.step = Step::kGrant;
  c.keepalive_until_us = 0;
  c.reads_done = 0;
  const int64_t ttl = static_cast<int64_t>(prng_.InRange(2, 5));
  history_.leases.push_back(std::move(lease));
  kvpb::InternalRequest r;
  r.mutable_lease_grant()->set_ttl(ttl);
  world_->SendPropose(RandomNode(), NewRequest(c), std::move(r));
}

void LeaseClients::Put(Client& c) {
  LeaseRecord& lease = history_.leases[c.lease];
  c.step = Step::kPut;
  const std::string key =
      absl::StrCat("l", c.index, ".", c.lease, ".", lease.keys.size());
  lease.keys.push_back(key);
  lease_by_key_[key] = c.lease;
  kvpb::InternalRequest r;
  r.mutable_put()->set_key(key);
  r.mutable_put()->set_value(
      absl::StrCat("v", c.lease, ".", lease.keys.size()));
  r.mutable_put()->set_lease(lease.id);
  world_->SendPropose(RandomNode(), NewRequest(c), std::move(r));
}

void LeaseClients::KeepAlive(Client& c, uint64_t node) {
  c.step = Step::kKeepAlive;
  world_->SendLeaseKeepAlive(node, NewRequest(c), history_.leases[c.lease].id);
}

void LeaseClients::Revoke(Client& c) {
  LeaseRecord& lease = history_.leases[c.lease];
  c.step = Step::kRevoke;
  if (lease.revoke_invoke_us == kNever) lease.revoke_invoke_us = world_->now();
  kvpb::InternalRequest r;
  r.mutable_lease_revoke()->set_id(lease.id);
  world_->SendPropose(RandomNode(), NewRequest(c), std::move(r));
}

void LeaseClients::Read(Client& c) {
  LeaseRecord& lease = history_.leases[c.lease];
  if (c.reads_done >= lease.keys.size()) {
    c.step = Step::kIdle;
    Later(c, static_cast<int64_t>(prng_.InRange(0, 500000)));
    return;
  }
  c.step = Step::kRead;
  LeaseRead read;
  read.lease = c.lease;
  read.key = lease.keys[c.reads_done];
  read.invoke_us = world_->now();
  c.read = static_cast<int>(history_.reads.size());
  etcdserverpb::RangeRequest r;
  r.set_key(read.key);
  history_.reads.push_back(std::move(read));
  world_->SendRead(RandomNode(), NewRequest(c), std::move(r));
}

void LeaseClients::FollowPlan(Client& c) {
  const LeaseRecord& lease = history_.leases[c.lease];
  const int64_t ttl_us = lease.ttl_seconds * 1000000;
  // Reads wait out the TTL and the revoke of an expiry.
  const int64_t after_expiry_us = ttl_us + 2000000;
  switch (lease.plan) {
    case LeaseRecord::Plan::kKeepAliveThenRevoke:
    case LeaseRecord::Plan::kKeepAliveThenExpire:
      if (c.keepalive_until_us == 0) {
        c.keepalive_until_us =
            world_->now() + ttl_us * static_cast<int64_t>(prng_.InRange(1, 3));
      }
      if (world_->now() < c.keepalive_until_us) {
        c.step = Step::kKeepAlive;
        return Later(c, ttl_us / 3);
      }
      if (lease.plan == LeaseRecord::Plan::kKeepAliveThenRevoke) {
        c.step = Step::kRevoke;
        return Later(c, 0);
      }
      c.step = Step::kRead;
      return Later(c, after_expiry_us);
    case LeaseRecord::Plan::kRevoke:
      c.step = Step::kRevoke;
      return Later(c, static_cast<int64_t>(
                          prng_.InRange(0, static_cast<uint64_t>(ttl_us / 2))));
    case LeaseRecord::Plan::kExpire:
      c.step = Step::kRead;
      return Later(c, after_expiry_us);
  }
}

void LeaseClients::OnReply(uint64_t node, const server::ClientReply& reply,
                           bool /*immediate*/) {
  auto it = client_by_request_.find(reply.request_id);
  if (it == client_by_request_.end()) return;
  Client& c = clients_[it->second];
  client_by_request_.erase(it);
  if (c.request != reply.request_id) return;
  Finish(c, &reply, node);
}

// `reply` is null on a timeout.
void LeaseClients::Finish(Client& c, const server::ClientReply* reply,
                          uint64_t node) {
  c.request = 0;
  LeaseRecord& lease = history_.leases[c.lease];
  const bool ok = reply != nullptr && reply->status.ok();
  const int64_t now = world_->now();
  switch (c.step) {
    case Step::kGrant:
      lease.grant_return_us = now;
      if (!ok) {
        c.step = Step::kIdle;
        return Later(c, static_cast<int64_t>(prng_.InRange(0, 500000)));
      }
      lease.id = reply->response.lease_grant().id();
      lease.ttl_seconds = reply->response.lease_grant().ttl();
      Log(absl::StrCat("lc", c.index, " granted lease ", lease.id, " ttl ",
                       lease.ttl_seconds, "s"));
      c.puts_left = static_cast<int>(prng_.InRange(1, 2));
      return Put(c);
    case Step::kPut:
      if (--c.puts_left > 0) return Put(c);
      return FollowPlan(c);
    case Step::kKeepAlive: {
      if (ok) {
        // The leader renewed after this keepalive (or the first of its
        // forwards) was invoked.
        ++lease.keepalives_ok;
        lease.last_refresh_invoke_us = c.keepalive_invoke_us;
        return FollowPlan(c);
      }
      if (reply != nullptr &&
          reply->status.code() == absl::StatusCode::kFailedPrecondition &&
          c.hops < kMaxHops) {
        const server::Node* n = world_->node(node);
        const uint64_t leader = n == nullptr ? 0 : n->GetStatus().leader;
        if (leader != 0 && leader != node) {
          ++c.hops;
          return KeepAlive(c, leader);
        }
      }
      if (reply != nullptr &&
          reply->status.code() == absl::StatusCode::kNotFound) {
        c.step = Step::kRead;  // gone: expired
        return Later(c, 0);
      }
      return FollowPlan(c);
    }
    case Step::kRevoke:
      if (ok) {
        lease.revoke_ok_us = now;
        lease.revoke_revision = reply->header.revision();
      }
      c.step = Step::kRead;
      return Later(c, ok ? 0 : lease.ttl_seconds * 1000000 + 2000000);
    case Step::kRead: {
      LeaseRead& read = history_.reads[c.read];
      read.return_us = now;
      read.ok = ok;
      if (ok) {
        const etcdserverpb::RangeResponse& range = reply->response.range();
        read.found = range.kvs_size() > 0;
        read.found_lease = read.found ? range.kvs(0).lease() : 0;
        read.revision = reply->header.revision();
      }
      ++c.reads_done;
      return Read(c);
    }
    case Step::kIdle:
      break;
  }
  CHECK(false) << "a reply comes only for a request in flight";
}

void LeaseClients::OnNodeEvents(uint64_t id, const server::Node&,
                                bool /*store_replaced*/,
                                std::vector<mvccpb::Event> events) {
  for (const mvccpb::Event& e : events) {
    if (e.type() != mvccpb::Event::DELETE) continue;
    auto it = lease_by_key_.find(e.kv().key());
    if (it == lease_by_key_.end()) continue;
    LeaseRecord& lease = history_.leases[it->second];
    if (lease.deleted_applied_us != kNever) continue;
    lease.deleted_applied_us = world_->now();
    lease.deleted_on = absl::StrCat("n", id, " rev=", e.kv().mod_revision());
  }
}

}  // namespace etcdpp::sim
