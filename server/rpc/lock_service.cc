#include "server/rpc/lock_service.h"

#include <string>
#include <utility>

#include "server/rpc/concurrency.h"

namespace etcdpp::rpc {
namespace {

using etcdserverpb::RangeResponse;
using etcdserverpb::TxnResponse;

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// One Lock call: etcd's concurrency.Mutex.Lock over a session for the
// lease. Each step starts one outgoing call and the next step runs in its
// callback, so at most one is in flight and Finish ends the last step.
class LockReactor final : public SelfSessionReactor {
 public:
  LockReactor(std::shared_ptr<SelfSession> session,
              const v3lockpb::LockRequest& request,
              v3lockpb::LockResponse* response)
      : SelfSessionReactor(std::move(session)),
        prefix_(request.name() + "/"),
        response_(response) {
    concurrency::SessionLease(session_, request.lease(),
                              [this](grpc::Status status, int64_t lease) {
                                if (!status.ok()) return Finish(status);
                                Acquire(lease);
                              });
  }

 private:
  // etcd's tryAcquire: puts the key unless this lease has it already, and
  // reads the key (when it was there) and the owner in the same txn.
  void Acquire(int64_t lease) {
    key_ = concurrency::LeaseKey(prefix_, lease);
    etcdserverpb::TxnRequest txn;
    *txn.add_compare() = concurrency::CreateRevisionIs(key_, 0);
    etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
    put->set_key(key_);
    put->set_lease(lease);
    *txn.add_success()->mutable_request_range() =
        concurrency::FirstCreate(prefix_);
    txn.add_failure()->mutable_request_range()->set_key(key_);
    *txn.add_failure()->mutable_request_range() =
        concurrency::FirstCreate(prefix_);
    session_->Txn(std::move(txn),
                  [this](grpc::Status status, TxnResponse response) {
                    Acquired(status, response);
                  });
  }

  void Acquired(const grpc::Status& status, const TxnResponse& response) {
    if (!status.ok()) return Finish(status);
    if (response.responses_size() != 2) {
      return Finish(grpc::Status(grpc::StatusCode::INTERNAL,
                                 "lock: malformed txn response"));
    }
    revision_ = response.header().revision();
    if (!response.succeeded()) {
      const RangeResponse& mine = response.responses(0).response_range();
      // The compare and the read are one txn: the key is there.
      if (mine.kvs_size() == 0) {
        return Finish(grpc::Status(grpc::StatusCode::INTERNAL,
                                   "lock: malformed txn response"));
      }
      revision_ = mine.kvs(0).create_revision();
    }
    const RangeResponse& owner = response.responses(1).response_range();
    if (owner.kvs_size() == 0 || owner.kvs(0).create_revision() == revision_) {
      return Succeed(response.header());
    }
    concurrency::WaitDeletes(session_, prefix_, revision_ - 1,
                             [this](grpc::Status status) {
                               if (!status.ok()) return GiveUp(status);
                               CheckOwned();
                             });
  }

  // The key may have gone with its lease while waiting.
  void CheckOwned() {
    etcdserverpb::RangeRequest get;
    get.set_key(key_);
    session_->Range(std::move(get),
                    [this](grpc::Status status, RangeResponse response) {
                      if (!status.ok()) return GiveUp(status);
                      if (response.kvs_size() == 0) {
                        return Finish(concurrency::SessionExpiredError());
                      }
                      Succeed(response.header());
                    });
  }

  void Succeed(const etcdserverpb::ResponseHeader& header) {
    *response_->mutable_header() = header;
    response_->set_key(key_);
    Finish(grpc::Status::OK);
  }

  // etcd's Mutex.Lock when the wait fails: Unlock on the client's own
  // context, then the wait's error.
  void GiveUp(const grpc::Status& status) {
    etcdserverpb::DeleteRangeRequest del;
    del.set_key(key_);
    session_->DeleteRangeDetached(
        std::move(del),
        [this, status](grpc::Status, etcdserverpb::DeleteRangeResponse) {
          Finish(status);
        });
  }

  const std::string prefix_;  // "<name>/"
  v3lockpb::LockResponse* const response_;
  std::string key_;       // "<name>/<lease hex>", once the lease is known
  int64_t revision_ = 0;  // the key's create revision
};

}  // namespace

grpc::ServerUnaryReactor* LockService::Lock(
    grpc::CallbackServerContext* context, const v3lockpb::LockRequest* request,
    v3lockpb::LockResponse* response) {
  std::shared_ptr<SelfSession> session = StartSession(connection_, *context);
  if (session == nullptr) return FinishNow(context, NotStartedError());
  return new LockReactor(std::move(session), *request, response);
}

grpc::ServerUnaryReactor* LockService::Unlock(
    grpc::CallbackServerContext* context,
    const v3lockpb::UnlockRequest* request,
    v3lockpb::UnlockResponse* response) {
  std::shared_ptr<SelfSession> session = StartSession(connection_, *context);
  if (session == nullptr) return FinishNow(context, NotStartedError());
  auto* reactor = new SelfSessionReactor(session);
  etcdserverpb::DeleteRangeRequest del;
  del.set_key(request->key());
  session->DeleteRange(
      std::move(del),
      [reactor, response](grpc::Status status,
                          etcdserverpb::DeleteRangeResponse deleted) {
        if (status.ok()) *response->mutable_header() = deleted.header();
        reactor->Finish(status);
      });
  return reactor;
}

}  // namespace etcdpp::rpc
