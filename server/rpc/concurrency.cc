#include "server/rpc/concurrency.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace etcdpp::rpc::concurrency {
namespace {

using etcdserverpb::RangeRequest;

// etcd's waitDelete: watches `key` from `revision` until a delete event.
void WaitDelete(const std::shared_ptr<SelfSession>& session,
                const std::string& key, int64_t revision, StatusFn done) {
  etcdserverpb::WatchCreateRequest create;
  create.set_key(key);
  create.set_start_revision(revision);
  auto on_events = [done](SelfWatch& watch,
                          etcdserverpb::WatchResponse response) {
    for (const mvccpb::Event& event : response.events()) {
      if (event.type() == mvccpb::Event::DELETE) {
        watch.Stop();
        return done(grpc::Status::OK);
      }
    }
    watch.Next();
  };
  auto on_end = [done](grpc::Status status) {
    if (status.ok()) {
      // The stream ended without the delete (etcd's words).
      status = grpc::Status(grpc::StatusCode::UNKNOWN,
                            "lost watcher waiting for delete");
    }
    done(std::move(status));
  };
  session->Watch(std::move(create), std::move(on_events), std::move(on_end));
}

}  // namespace

grpc::Status ElectionNotLeaderError() {
  return grpc::Status(grpc::StatusCode::UNKNOWN, "election: not leader");
}

grpc::Status ElectionNoLeaderError() {
  return grpc::Status(grpc::StatusCode::UNKNOWN, "election: no leader");
}

grpc::Status MissingLeaderKeyError() {
  return grpc::Status(grpc::StatusCode::UNKNOWN,
                      "\"leader\" field must be provided");
}

grpc::Status SessionExpiredError() {
  return grpc::Status(grpc::StatusCode::UNKNOWN, "mutex: session is expired");
}

std::string LeaseKey(const std::string& prefix, int64_t lease) {
  // Go prints a negative int64 as '-' and the hex of its magnitude.
  const uint64_t magnitude = lease < 0 ? ~static_cast<uint64_t>(lease) + 1
                                       : static_cast<uint64_t>(lease);
  return absl::StrCat(prefix, lease < 0 ? "-" : "", absl::Hex(magnitude));
}

std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(end.back() + 1);
      return end;
    }
    end.pop_back();
  }
  // Every byte is 0xff (or no prefix): every key from prefix on.
  return std::string(1, '\0');
}

RangeRequest FirstCreate(const std::string& prefix) {
  RangeRequest request;
  request.set_key(prefix);
  request.set_range_end(PrefixEnd(prefix));
  request.set_sort_target(RangeRequest::CREATE);
  request.set_sort_order(RangeRequest::ASCEND);
  request.set_limit(1);
  return request;
}

etcdserverpb::Compare CreateRevisionIs(const std::string& key,
                                       int64_t revision) {
  etcdserverpb::Compare compare;
  compare.set_key(key);
  compare.set_target(etcdserverpb::Compare::CREATE);
  compare.set_result(etcdserverpb::Compare::EQUAL);
  compare.set_create_revision(revision);
  return compare;
}

void SessionLease(const std::shared_ptr<SelfSession>& session, int64_t lease,
                  LeaseFn done) {
  if (lease != 0) return done(grpc::Status::OK, lease);
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(kDefaultSessionTtlSeconds);
  session->LeaseGrant(
      std::move(request),
      [done = std::move(done)](grpc::Status status,
                               etcdserverpb::LeaseGrantResponse response) {
        done(std::move(status), response.id());
      });
}

void WaitDeletes(std::shared_ptr<SelfSession> session, std::string prefix,
                 int64_t max_create_revision, StatusFn done) {
  // clientv3's WithLastCreate and WithMaxCreateRev.
  RangeRequest last = FirstCreate(prefix);
  last.set_sort_order(RangeRequest::DESCEND);
  last.set_max_create_revision(max_create_revision);
  SelfSession* raw = session.get();
  raw->Range(
      std::move(last),
      [session = std::move(session), prefix = std::move(prefix),
       max_create_revision, done = std::move(done)](
          grpc::Status status, etcdserverpb::RangeResponse response) {
        if (!status.ok()) return done(std::move(status));
        if (response.kvs_size() == 0) return done(grpc::Status::OK);
        WaitDelete(
            session, response.kvs(0).key(), response.header().revision(),
            [session, prefix, max_create_revision, done](grpc::Status status) {
              if (!status.ok()) return done(std::move(status));
              WaitDeletes(session, prefix, max_create_revision, done);
            });
      });
}

}  // namespace etcdpp::rpc::concurrency
