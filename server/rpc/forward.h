// Forwarding a request this member cannot answer to the leader's client
// endpoint, as etcd's followers forward a member promotion, a lease
// keepalive or a lease time-to-live. The backend names the endpoint (a
// NotLeader reply with leader_endpoint set); the service makes the hop.
#ifndef ETCDPP_SERVER_RPC_FORWARD_H_
#define ETCDPP_SERVER_RPC_FORWARD_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace etcdpp::rpc {

// Marks a forwarded call: it is answered where it lands, so a leader change
// mid-flight cannot make a loop.
inline constexpr char kForwardedHeader[] = "etcdpp-forwarded";

bool IsForwarded(const grpc::CallbackServerContext& context);

// A channel to `endpoint` (host:port), shared by every call forwarded
// there.
std::shared_ptr<grpc::Channel> ForwardChannel(const std::string& endpoint);

// Marks `context` as forwarded and bounds the hop.
void PrepareForwarded(grpc::ClientContext* context);

}  // namespace etcdpp::rpc

#endif  // ETCDPP_SERVER_RPC_FORWARD_H_
