#include "server/rpc/forward.h"

#include <chrono>
#include <map>
#include <mutex>

namespace etcdpp::rpc {
namespace {

// A forwarded call waits this long for the leader.
constexpr std::chrono::seconds kForwardDeadline(10);

}  // namespace

bool IsForwarded(const grpc::CallbackServerContext& context) {
  return context.client_metadata().count(kForwardedHeader) > 0;
}

std::shared_ptr<grpc::Channel> ForwardChannel(const std::string& endpoint) {
  // Few endpoints (one per member that ever led), so never pruned.
  static std::mutex* mu = new std::mutex;
  static auto* channels =
      new std::map<std::string, std::shared_ptr<grpc::Channel>>;
  std::lock_guard<std::mutex> lock(*mu);
  std::shared_ptr<grpc::Channel>& channel = (*channels)[endpoint];
  if (channel == nullptr) {
    channel = grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials());
  }
  return channel;
}

void PrepareForwarded(grpc::ClientContext* context) {
  context->AddMetadata(kForwardedHeader, "1");
  context->set_deadline(std::chrono::system_clock::now() + kForwardDeadline);
}

}  // namespace etcdpp::rpc
