#include "server/rpc/local_backend.h"

#include <utility>

namespace etcdpp::rpc {

etcdserverpb::ResponseHeader LocalBackend::Header() const {
  etcdserverpb::ResponseHeader header;
  header.set_cluster_id(cluster_id_);
  header.set_member_id(member_id_);
  header.set_revision(applier_.store().current_revision());
  header.set_raft_term(1);
  return header;
}

void LocalBackend::Write(kvpb::InternalRequest request, ReplyFn done) {
  Reply reply;
  {
    std::lock_guard<std::mutex> lock(mu_);
    request.mutable_header()->set_id(++applied_);
    kv::ApplyResult result = applier_.Apply(request);
    reply.status = std::move(result.status);
    reply.response = std::move(result.response);
    reply.header = Header();
  }
  done(std::move(reply));
}

void LocalBackend::Read(etcdserverpb::RangeRequest request, ReplyFn done) {
  Reply reply;
  {
    std::lock_guard<std::mutex> lock(mu_);
    absl::StatusOr<etcdserverpb::RangeResponse> range =
        applier_.store().Range(request);
    reply.status = range.status();
    if (range.ok()) *reply.response.mutable_range() = *std::move(range);
    reply.header = Header();
  }
  done(std::move(reply));
}

void LocalBackend::Authorize(std::string token, AuthCheck check,
                             AuthInfoFn done) {
  absl::StatusOr<kv::AuthInfo> info = kv::AuthInfo{};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (applier_.auth().enabled()) {
      if (!token.empty()) info = applier_.AuthInfoFromToken(token);
      if (info.ok() && check) {
        if (absl::Status s = check(applier_.auth(), *info); !s.ok()) info = s;
      }
    }
  }
  done(std::move(info));
}

void LocalBackend::PasswordOf(std::string name, PasswordFn done) {
  absl::StatusOr<kv::StoredPassword> stored;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stored = applier_.auth().PasswordOf(name);
  }
  done(std::move(stored));
}

void LocalBackend::Status(
    std::function<void(absl::StatusOr<etcdserverpb::StatusResponse>)> done) {
  etcdserverpb::StatusResponse status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    *status.mutable_header() = Header();
    status.set_version("3.5.0");
    status.set_leader(member_id_);
    status.set_raftindex(applied_);
    status.set_raftappliedindex(applied_);
    status.set_raftterm(1);
  }
  done(std::move(status));
}

void LocalBackend::HashKV(
    int64_t revision,
    std::function<void(absl::StatusOr<etcdserverpb::HashKVResponse>)> done) {
  etcdserverpb::HashKVResponse response;
  {
    std::lock_guard<std::mutex> lock(mu_);
    absl::StatusOr<kv::KeyValueHash> hash =
        applier_.store().HashKV(revision);
    if (!hash.ok()) return done(hash.status());
    *response.mutable_header() = Header();
    response.set_hash(hash->hash);
    response.set_compact_revision(hash->compact_revision);
  }
  done(std::move(response));
}

}  // namespace etcdpp::rpc
