#include "server/rpc/election_service.h"

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "server/rpc/concurrency.h"

namespace etcdpp::rpc {
namespace {

using etcdserverpb::RangeResponse;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;
using v3electionpb::LeaderResponse;

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// etcd's Election.Proclaim: puts `value` while `key` is the one created at
// `revision`.
TxnRequest ProclaimTxn(const std::string& key, int64_t revision,
                       const std::string& value, int64_t lease) {
  TxnRequest txn;
  *txn.add_compare() = concurrency::CreateRevisionIs(key, revision);
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  return txn;
}

// etcd's Election.Resign: deletes `key` while it is the one created at
// `revision`.
TxnRequest ResignTxn(const std::string& key, int64_t revision) {
  TxnRequest txn;
  *txn.add_compare() = concurrency::CreateRevisionIs(key, revision);
  txn.add_success()->mutable_request_delete_range()->set_key(key);
  return txn;
}

// One Campaign call: etcd's concurrency.Election.Campaign over a session
// for the lease. One outgoing call at a time; Finish ends the last step.
class CampaignReactor final : public SelfSessionReactor {
 public:
  CampaignReactor(std::shared_ptr<SelfSession> session,
                  const v3electionpb::CampaignRequest& request,
                  v3electionpb::CampaignResponse* response)
      : SelfSessionReactor(std::move(session)),
        name_(request.name()),
        prefix_(request.name() + "/"),
        value_(request.value()),
        response_(response) {
    concurrency::SessionLease(session_, request.lease(),
                              [this](grpc::Status status, int64_t lease) {
                                if (!status.ok()) return Finish(status);
                                Put(lease);
                              });
  }

 private:
  // Puts the candidate's key unless this lease has it already.
  void Put(int64_t lease) {
    lease_ = lease;
    key_ = concurrency::LeaseKey(prefix_, lease);
    TxnRequest txn;
    *txn.add_compare() = concurrency::CreateRevisionIs(key_, 0);
    etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
    put->set_key(key_);
    put->set_value(value_);
    put->set_lease(lease);
    txn.add_failure()->mutable_request_range()->set_key(key_);
    session_->Txn(std::move(txn),
                  [this](grpc::Status status, TxnResponse response) {
                    Placed(status, response);
                  });
  }

  void Placed(const grpc::Status& status, const TxnResponse& response) {
    if (!status.ok()) return Finish(status);
    header_ = response.header();
    revision_ = response.header().revision();
    if (response.succeeded()) return Wait();
    // The compare and the read are one txn: the key is there.
    if (response.responses_size() != 1 ||
        response.responses(0).response_range().kvs_size() == 0) {
      return Finish(grpc::Status(grpc::StatusCode::INTERNAL,
                                 "election: malformed txn response"));
    }
    const RangeResponse& mine = response.responses(0).response_range();
    revision_ = mine.kvs(0).create_revision();
    if (mine.kvs(0).value() == value_) return Wait();
    session_->Txn(ProclaimTxn(key_, revision_, value_, lease_),
                  [this](grpc::Status status, TxnResponse response) {
                    if (!status.ok()) return Resign(status);
                    if (!response.succeeded()) {
                      return Finish(concurrency::ElectionNotLeaderError());
                    }
                    Wait();
                  });
  }

  void Wait() {
    concurrency::WaitDeletes(session_, prefix_, revision_ - 1,
                             [this](grpc::Status status) {
                               if (status.ok()) return Succeed();
                               // etcd resigns only when its own context ended,
                               // on the client's.
                               if (session_->cancelled())
                                 return ResignDetached(status);
                               Finish(status);
                             });
  }

  void Succeed() {
    *response_->mutable_header() = header_;
    v3electionpb::LeaderKey* leader = response_->mutable_leader();
    leader->set_name(name_);
    leader->set_key(key_);
    leader->set_rev(revision_);
    leader->set_lease(lease_);
    Finish(grpc::Status::OK);
  }

  // A failed proclaim of the campaign's value resigns, then fails.
  void Resign(const grpc::Status& status) {
    session_->Txn(
        ResignTxn(key_, revision_),
        [this, status](grpc::Status, TxnResponse) { Finish(status); });
  }

  void ResignDetached(const grpc::Status& status) {
    session_->TxnDetached(
        ResignTxn(key_, revision_),
        [this, status](grpc::Status, TxnResponse) { Finish(status); });
  }

  const std::string name_;
  const std::string prefix_;  // "<name>/"
  const std::string value_;
  v3electionpb::CampaignResponse* const response_;
  int64_t lease_ = 0;
  std::string key_;                      // "<name>/<lease hex>"
  int64_t revision_ = 0;                 // the key's create revision
  etcdserverpb::ResponseHeader header_;  // of the txn that put the key
};

// One Observe stream: etcd's Election.observe. Steps alternate between
// one outgoing call (a read or a watch) and writes to the client, never
// both at once: a watch is not read again until what it gave is written.
class ObserveReactor final : public grpc::ServerWriteReactor<LeaderResponse> {
 public:
  ObserveReactor(std::shared_ptr<SelfSession> session, const std::string& name)
      : session_(std::move(session)), prefix_(name + "/") {
    FindLeader();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return End(grpc::Status::CANCELLED);
    std::function<void()> then;
    LeaderResponse* next = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.pop_front();
      if (!pending_.empty()) {
        next = &pending_.front();
      } else {
        then = std::move(then_);
      }
    }
    if (next != nullptr) return StartWrite(next);
    then();
  }
  void OnCancel() override { session_->Cancel(); }
  void OnDone() override { delete this; }

 private:
  void FindLeader() {
    session_->Range(concurrency::FirstCreate(prefix_),
                    [this](grpc::Status status, RangeResponse response) {
                      if (!status.ok()) return End(status);
                      if (response.kvs_size() == 0) {
                        return AwaitFirstPut(response.header().revision());
                      }
                      LeaderResponse leader;
                      *leader.mutable_header() = response.header();
                      *leader.mutable_kv() = response.kvs(0);
                      Announce(std::move(leader));
                    });
  }

  // No leader: the first key put under the prefix from `revision` on is.
  void AwaitFirstPut(int64_t revision) {
    etcdserverpb::WatchCreateRequest create;
    create.set_key(prefix_);
    create.set_range_end(concurrency::PrefixEnd(prefix_));
    create.set_start_revision(revision);
    session_->Watch(
        std::move(create),
        [this](SelfWatch& watch, etcdserverpb::WatchResponse response) {
          for (const mvccpb::Event& event : response.events()) {
            if (event.type() != mvccpb::Event::PUT) continue;
            watch.Stop();
            LeaderResponse leader;
            *leader.mutable_header() = response.header();
            // The response may hold several puts: the header's revision
            // is this one's.
            leader.mutable_header()->set_revision(event.kv().mod_revision());
            *leader.mutable_kv() = event.kv();
            return Announce(std::move(leader));
          }
          watch.Next();  // only deletes: wait on
        },
        [this](grpc::Status status) { End(status); });
  }

  // Sends the leader, then follows its key.
  void Announce(LeaderResponse leader) {
    std::string key = leader.kv().key();
    const int64_t revision = leader.header().revision() + 1;
    std::vector<LeaderResponse> out;
    out.push_back(std::move(leader));
    Send(std::move(out),
         [this, key = std::move(key), revision] { Follow(key, revision); });
  }

  // Every put of the leader's key from `revision` on, until it is deleted.
  void Follow(const std::string& key, int64_t revision) {
    etcdserverpb::WatchCreateRequest create;
    create.set_key(key);
    create.set_start_revision(revision);
    session_->Watch(
        std::move(create),
        [this](SelfWatch& watch, etcdserverpb::WatchResponse response) {
          Followed(watch, std::move(response));
        },
        [this](grpc::Status status) { End(status); });
  }

  void Followed(SelfWatch& watch, etcdserverpb::WatchResponse response) {
    std::vector<LeaderResponse> out;
    bool deleted = false;
    for (const mvccpb::Event& event : response.events()) {
      if (event.type() == mvccpb::Event::DELETE) {
        deleted = true;
        break;
      }
      LeaderResponse leader;
      *leader.mutable_header() = response.header();
      *leader.mutable_kv() = event.kv();
      out.push_back(std::move(leader));
    }
    std::shared_ptr<SelfWatch> following = watch.shared_from_this();
    if (deleted) watch.Stop();
    {
      std::lock_guard<std::mutex> lock(mu_);
      watch_ = deleted ? nullptr : following;
    }
    Send(std::move(out), [this, deleted, following] {
      if (deleted) return FindLeader();
      following->Next();
    });
  }

  // Writes `responses` in order, then runs `then`. Only while nothing is
  // being written.
  void Send(std::vector<LeaderResponse> responses, std::function<void()> then) {
    if (responses.empty()) return then();
    LeaderResponse* first = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (LeaderResponse& r : responses) pending_.push_back(std::move(r));
      then_ = std::move(then);
      first = &pending_.front();
    }
    StartWrite(first);
  }

  // Ends the stream; etcd ends it with OK when its watch breaks, here the
  // cause is told.
  void End(const grpc::Status& status) {
    std::shared_ptr<SelfWatch> watch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ended_) return;
      ended_ = true;
      watch = std::move(watch_);
    }
    if (watch != nullptr) watch->Stop();
    Finish(status);
  }

  const std::shared_ptr<SelfSession> session_;
  const std::string prefix_;  // "<name>/"

  std::mutex mu_;
  std::deque<LeaderResponse> pending_;  // front: being written
  std::function<void()> then_;          // once pending_ is written
  std::shared_ptr<SelfWatch> watch_;    // the watch paused while writing
  bool ended_ = false;
};

}  // namespace

grpc::ServerUnaryReactor* ElectionService::Campaign(
    grpc::CallbackServerContext* context,
    const v3electionpb::CampaignRequest* request,
    v3electionpb::CampaignResponse* response) {
  std::shared_ptr<SelfSession> session = StartSession(connection_, *context);
  if (session == nullptr) return FinishNow(context, NotStartedError());
  return new CampaignReactor(std::move(session), *request, response);
}

grpc::ServerUnaryReactor* ElectionService::Proclaim(
    grpc::CallbackServerContext* context,
    const v3electionpb::ProclaimRequest* request,
    v3electionpb::ProclaimResponse* response) {
  if (!request->has_leader()) {
    return FinishNow(context, concurrency::MissingLeaderKeyError());
  }
  std::shared_ptr<SelfSession> session = StartSession(connection_, *context);
  if (session == nullptr) return FinishNow(context, NotStartedError());
  auto* reactor = new SelfSessionReactor(session);
  // etcd proclaims with its session's lease: lease 0 grants one.
  concurrency::SessionLease(
      session, request->leader().lease(),
      [reactor, session, response, leader = request->leader(),
       value = request->value()](grpc::Status status, int64_t lease) {
        if (!status.ok()) return reactor->Finish(status);
        session->Txn(
            ProclaimTxn(leader.key(), leader.rev(), value, lease),
            [reactor, response](grpc::Status status, TxnResponse txn) {
              if (!status.ok()) return reactor->Finish(status);
              if (!txn.succeeded()) {
                return reactor->Finish(concurrency::ElectionNotLeaderError());
              }
              *response->mutable_header() = txn.header();
              reactor->Finish(grpc::Status::OK);
            });
      });
  return reactor;
}

grpc::ServerUnaryReactor* ElectionService::Leader(
    grpc::CallbackServerContext* context,
    const v3electionpb::LeaderRequest* request,
    v3electionpb::LeaderResponse* response) {
  std::shared_ptr<SelfSession> session = StartSession(connection_, *context);
  if (session == nullptr) return FinishNow(context, NotStartedError());
  auto* reactor = new SelfSessionReactor(session);
  session->Range(
      concurrency::FirstCreate(request->name() + "/"),
      [reactor, response](grpc::Status status, RangeResponse range) {
        if (!status.ok()) return reactor->Finish(status);
        if (range.kvs_size() == 0) {
          return reactor->Finish(concurrency::ElectionNoLeaderError());
        }
        *response->mutable_header() = range.header();
        *response->mutable_kv() = range.kvs(0);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerWriteReactor<LeaderResponse>* ElectionService::Observe(
    grpc::CallbackServerContext* context,
    const v3electionpb::LeaderRequest* request) {
  std::shared_ptr<SelfSession> session = StartSession(connection_, *context);
  if (session == nullptr) {
    // A reactor only to say so.
    class NotStarted final : public grpc::ServerWriteReactor<LeaderResponse> {
     public:
      NotStarted() { Finish(NotStartedError()); }
      void OnDone() override { delete this; }
    };
    return new NotStarted();
  }
  return new ObserveReactor(std::move(session), request->name());
}

grpc::ServerUnaryReactor* ElectionService::Resign(
    grpc::CallbackServerContext* context,
    const v3electionpb::ResignRequest* request,
    v3electionpb::ResignResponse* response) {
  if (!request->has_leader()) {
    return FinishNow(context, concurrency::MissingLeaderKeyError());
  }
  std::shared_ptr<SelfSession> session = StartSession(connection_, *context);
  if (session == nullptr) return FinishNow(context, NotStartedError());
  auto* reactor = new SelfSessionReactor(session);
  session->Txn(ResignTxn(request->leader().key(), request->leader().rev()),
               [reactor, response](grpc::Status status, TxnResponse txn) {
                 if (status.ok()) *response->mutable_header() = txn.header();
                 reactor->Finish(status);
               });
  return reactor;
}

}  // namespace etcdpp::rpc
