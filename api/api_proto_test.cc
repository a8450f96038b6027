// The etcd API protos: every message round-trips through the wire format,
// and the core messages carry etcd's own field numbers and names, so real
// etcd clients interoperate. The table below is written from etcd 3.5's API
// reference, independently of the .proto files it checks.
#include <string>
#include <vector>

#include "api/authpb/auth.pb.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "api/v3electionpb/v3election.pb.h"
#include "api/v3lockpb/v3lock.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace etcdpp::api {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::Message;
using google::protobuf::MessageFactory;
using google::protobuf::Reflection;

struct FieldNumber {
  const char* message;
  const char* field;
  int number;
};

constexpr FieldNumber kFieldNumbers[] = {
    {"etcdserverpb.ResponseHeader", "cluster_id", 1},
    {"etcdserverpb.ResponseHeader", "member_id", 2},
    {"etcdserverpb.ResponseHeader", "revision", 3},
    {"etcdserverpb.ResponseHeader", "raft_term", 4},
    {"mvccpb.KeyValue", "key", 1},
    {"mvccpb.KeyValue", "create_revision", 2},
    {"mvccpb.KeyValue", "mod_revision", 3},
    {"mvccpb.KeyValue", "version", 4},
    {"mvccpb.KeyValue", "value", 5},
    {"mvccpb.KeyValue", "lease", 6},
    {"etcdserverpb.RangeRequest", "key", 1},
    {"etcdserverpb.RangeRequest", "range_end", 2},
    {"etcdserverpb.RangeRequest", "limit", 3},
    {"etcdserverpb.RangeRequest", "revision", 4},
    {"etcdserverpb.RangeRequest", "sort_order", 5},
    {"etcdserverpb.RangeRequest", "sort_target", 6},
    {"etcdserverpb.RangeRequest", "serializable", 7},
    {"etcdserverpb.RangeRequest", "keys_only", 8},
    {"etcdserverpb.RangeRequest", "count_only", 9},
    {"etcdserverpb.RangeRequest", "min_mod_revision", 10},
    {"etcdserverpb.RangeRequest", "max_mod_revision", 11},
    {"etcdserverpb.RangeRequest", "min_create_revision", 12},
    {"etcdserverpb.RangeRequest", "max_create_revision", 13},
    {"etcdserverpb.RangeResponse", "header", 1},
    {"etcdserverpb.RangeResponse", "kvs", 2},
    {"etcdserverpb.RangeResponse", "more", 3},
    {"etcdserverpb.RangeResponse", "count", 4},
    {"etcdserverpb.PutRequest", "key", 1},
    {"etcdserverpb.PutRequest", "value", 2},
    {"etcdserverpb.PutRequest", "lease", 3},
    {"etcdserverpb.PutRequest", "prev_kv", 4},
    {"etcdserverpb.PutRequest", "ignore_value", 5},
    {"etcdserverpb.PutRequest", "ignore_lease", 6},
    {"etcdserverpb.PutResponse", "header", 1},
    {"etcdserverpb.PutResponse", "prev_kv", 2},
    {"etcdserverpb.DeleteRangeRequest", "key", 1},
    {"etcdserverpb.DeleteRangeRequest", "range_end", 2},
    {"etcdserverpb.DeleteRangeRequest", "prev_kv", 3},
    {"etcdserverpb.DeleteRangeResponse", "header", 1},
    {"etcdserverpb.DeleteRangeResponse", "deleted", 2},
    {"etcdserverpb.DeleteRangeResponse", "prev_kvs", 3},
    {"etcdserverpb.TxnRequest", "compare", 1},
    {"etcdserverpb.TxnRequest", "success", 2},
    {"etcdserverpb.TxnRequest", "failure", 3},
    {"etcdserverpb.TxnResponse", "header", 1},
    {"etcdserverpb.TxnResponse", "succeeded", 2},
    {"etcdserverpb.TxnResponse", "responses", 3},
    {"etcdserverpb.Compare", "result", 1},
    {"etcdserverpb.Compare", "target", 2},
    {"etcdserverpb.Compare", "key", 3},
    {"etcdserverpb.Compare", "version", 4},
    {"etcdserverpb.Compare", "create_revision", 5},
    {"etcdserverpb.Compare", "mod_revision", 6},
    {"etcdserverpb.Compare", "value", 7},
    {"etcdserverpb.Compare", "lease", 8},
    {"etcdserverpb.Compare", "range_end", 64},
    {"etcdserverpb.RequestOp", "request_range", 1},
    {"etcdserverpb.RequestOp", "request_put", 2},
    {"etcdserverpb.RequestOp", "request_delete_range", 3},
    {"etcdserverpb.RequestOp", "request_txn", 4},
    {"etcdserverpb.ResponseOp", "response_range", 1},
    {"etcdserverpb.ResponseOp", "response_put", 2},
    {"etcdserverpb.ResponseOp", "response_delete_range", 3},
    {"etcdserverpb.ResponseOp", "response_txn", 4},
    {"etcdserverpb.WatchRequest", "create_request", 1},
    {"etcdserverpb.WatchRequest", "cancel_request", 2},
    {"etcdserverpb.WatchRequest", "progress_request", 3},
    {"etcdserverpb.WatchCreateRequest", "key", 1},
    {"etcdserverpb.WatchCreateRequest", "range_end", 2},
    {"etcdserverpb.WatchCreateRequest", "start_revision", 3},
    {"etcdserverpb.WatchCreateRequest", "progress_notify", 4},
    {"etcdserverpb.WatchCreateRequest", "filters", 5},
    {"etcdserverpb.WatchCreateRequest", "prev_kv", 6},
    {"etcdserverpb.WatchCreateRequest", "watch_id", 7},
    {"etcdserverpb.WatchCreateRequest", "fragment", 8},
    {"etcdserverpb.WatchResponse", "header", 1},
    {"etcdserverpb.WatchResponse", "watch_id", 2},
    {"etcdserverpb.WatchResponse", "created", 3},
    {"etcdserverpb.WatchResponse", "canceled", 4},
    {"etcdserverpb.WatchResponse", "compact_revision", 5},
    {"etcdserverpb.WatchResponse", "cancel_reason", 6},
    {"etcdserverpb.WatchResponse", "fragment", 7},
    {"etcdserverpb.WatchResponse", "events", 11},
    {"mvccpb.Event", "type", 1},
    {"mvccpb.Event", "kv", 2},
    {"mvccpb.Event", "prev_kv", 3},
    {"etcdserverpb.LeaseGrantRequest", "TTL", 1},
    {"etcdserverpb.LeaseGrantRequest", "ID", 2},
    {"etcdserverpb.Member", "ID", 1},
    {"etcdserverpb.Member", "name", 2},
    {"etcdserverpb.Member", "peerURLs", 3},
    {"etcdserverpb.Member", "clientURLs", 4},
    {"etcdserverpb.Member", "isLearner", 5},
};

TEST(ApiProtoTest, CoreMessagesHaveEtcdFieldNumbers) {
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  for (const FieldNumber& want : kFieldNumbers) {
    const Descriptor* message = pool->FindMessageTypeByName(want.message);
    ASSERT_NE(message, nullptr) << want.message;
    const FieldDescriptor* field = message->FindFieldByName(want.field);
    ASSERT_NE(field, nullptr) << want.message << "." << want.field;
    EXPECT_EQ(field->number(), want.number)
        << want.message << "." << want.field;
  }
}

struct EnumValue {
  const char* enum_name;
  const char* value;
  int number;
};

constexpr EnumValue kEnumValues[] = {
    {"etcdserverpb.RangeRequest.SortOrder", "NONE", 0},
    {"etcdserverpb.RangeRequest.SortOrder", "ASCEND", 1},
    {"etcdserverpb.RangeRequest.SortOrder", "DESCEND", 2},
    {"etcdserverpb.RangeRequest.SortTarget", "KEY", 0},
    {"etcdserverpb.RangeRequest.SortTarget", "VERSION", 1},
    {"etcdserverpb.RangeRequest.SortTarget", "CREATE", 2},
    {"etcdserverpb.RangeRequest.SortTarget", "MOD", 3},
    {"etcdserverpb.RangeRequest.SortTarget", "VALUE", 4},
    {"etcdserverpb.Compare.CompareResult", "EQUAL", 0},
    {"etcdserverpb.Compare.CompareResult", "GREATER", 1},
    {"etcdserverpb.Compare.CompareResult", "LESS", 2},
    {"etcdserverpb.Compare.CompareResult", "NOT_EQUAL", 3},
    {"etcdserverpb.Compare.CompareTarget", "VERSION", 0},
    {"etcdserverpb.Compare.CompareTarget", "CREATE", 1},
    {"etcdserverpb.Compare.CompareTarget", "MOD", 2},
    {"etcdserverpb.Compare.CompareTarget", "VALUE", 3},
    {"etcdserverpb.Compare.CompareTarget", "LEASE", 4},
    {"etcdserverpb.WatchCreateRequest.FilterType", "NOPUT", 0},
    {"etcdserverpb.WatchCreateRequest.FilterType", "NODELETE", 1},
    {"mvccpb.Event.EventType", "PUT", 0},
    {"mvccpb.Event.EventType", "DELETE", 1},
    {"etcdserverpb.AlarmType", "NONE", 0},
    {"etcdserverpb.AlarmType", "NOSPACE", 1},
    {"etcdserverpb.AlarmType", "CORRUPT", 2},
    {"authpb.Permission.Type", "READ", 0},
    {"authpb.Permission.Type", "WRITE", 1},
    {"authpb.Permission.Type", "READWRITE", 2},
};

TEST(ApiProtoTest, EnumsHaveEtcdValues) {
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  for (const EnumValue& want : kEnumValues) {
    const auto* type = pool->FindEnumTypeByName(want.enum_name);
    ASSERT_NE(type, nullptr) << want.enum_name;
    const auto* value = type->FindValueByName(want.value);
    ASSERT_NE(value, nullptr) << want.enum_name << "." << want.value;
    EXPECT_EQ(value->number(), want.number)
        << want.enum_name << "." << want.value;
  }
}

TEST(ApiProtoTest, ServicesHaveEtcdNamesAndStreaming) {
  struct Method {
    const char* full_name;
    bool client_streaming;
    bool server_streaming;
  };
  const Method kMethods[] = {
      {"etcdserverpb.KV.Range", false, false},
      {"etcdserverpb.KV.Put", false, false},
      {"etcdserverpb.KV.DeleteRange", false, false},
      {"etcdserverpb.KV.Txn", false, false},
      {"etcdserverpb.KV.Compact", false, false},
      {"etcdserverpb.Watch.Watch", true, true},
      {"etcdserverpb.Lease.LeaseGrant", false, false},
      {"etcdserverpb.Lease.LeaseRevoke", false, false},
      {"etcdserverpb.Lease.LeaseKeepAlive", true, true},
      {"etcdserverpb.Lease.LeaseTimeToLive", false, false},
      {"etcdserverpb.Lease.LeaseLeases", false, false},
      {"etcdserverpb.Cluster.MemberAdd", false, false},
      {"etcdserverpb.Cluster.MemberRemove", false, false},
      {"etcdserverpb.Cluster.MemberUpdate", false, false},
      {"etcdserverpb.Cluster.MemberList", false, false},
      {"etcdserverpb.Cluster.MemberPromote", false, false},
      {"etcdserverpb.Maintenance.Alarm", false, false},
      {"etcdserverpb.Maintenance.Status", false, false},
      {"etcdserverpb.Maintenance.Defragment", false, false},
      {"etcdserverpb.Maintenance.Hash", false, false},
      {"etcdserverpb.Maintenance.HashKV", false, false},
      {"etcdserverpb.Maintenance.Snapshot", false, true},
      {"etcdserverpb.Maintenance.MoveLeader", false, false},
      {"etcdserverpb.Auth.AuthEnable", false, false},
      {"etcdserverpb.Auth.Authenticate", false, false},
      {"etcdserverpb.Auth.UserAdd", false, false},
      {"etcdserverpb.Auth.RoleGrantPermission", false, false},
      {"v3electionpb.Election.Campaign", false, false},
      {"v3electionpb.Election.Observe", false, true},
      {"v3lockpb.Lock.Lock", false, false},
      {"v3lockpb.Lock.Unlock", false, false},
  };
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  for (const Method& want : kMethods) {
    const auto* method = pool->FindMethodByName(want.full_name);
    ASSERT_NE(method, nullptr) << want.full_name;
    EXPECT_EQ(method->client_streaming(), want.client_streaming)
        << want.full_name;
    EXPECT_EQ(method->server_streaming(), want.server_streaming)
        << want.full_name;
  }
}

// Sets every field of `message` to a value that differs from its default,
// recursing into messages up to `depth` levels.
void FillAllFields(Message* message, int depth, int* counter) {
  const Descriptor* descriptor = message->GetDescriptor();
  const Reflection* reflection = message->GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const int n = ++*counter;
    const int copies = field->is_repeated() ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      switch (field->cpp_type()) {
#define SET_OR_ADD(Type, value)                           \
  if (field->is_repeated()) {                             \
    reflection->Add##Type(message, field, value);         \
  } else {                                                \
    reflection->Set##Type(message, field, value);         \
  }                                                       \
  break;
        case FieldDescriptor::CPPTYPE_INT32:
          SET_OR_ADD(Int32, -n);
        case FieldDescriptor::CPPTYPE_INT64:
          SET_OR_ADD(Int64, -(static_cast<int64_t>(n) << 33));
        case FieldDescriptor::CPPTYPE_UINT32:
          SET_OR_ADD(UInt32, static_cast<uint32_t>(n));
        case FieldDescriptor::CPPTYPE_UINT64:
          SET_OR_ADD(UInt64, static_cast<uint64_t>(n) << 40);
        case FieldDescriptor::CPPTYPE_DOUBLE:
          SET_OR_ADD(Double, n + 0.5);
        case FieldDescriptor::CPPTYPE_FLOAT:
          SET_OR_ADD(Float, n + 0.25f);
        case FieldDescriptor::CPPTYPE_BOOL:
          SET_OR_ADD(Bool, true);
        case FieldDescriptor::CPPTYPE_STRING:
          SET_OR_ADD(String, std::string("v\0") + std::to_string(n));
        case FieldDescriptor::CPPTYPE_ENUM: {
          const auto* type = field->enum_type();
          SET_OR_ADD(Enum, type->value(type->value_count() - 1));
        }
#undef SET_OR_ADD
        case FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth > 0) {
            Message* child = field->is_repeated()
                                 ? reflection->AddMessage(message, field)
                                 : reflection->MutableMessage(message, field);
            FillAllFields(child, depth - 1, counter);
          }
          break;
      }
    }
    // Setting one member of a oneof clears the others: keep the last one.
  }
}

TEST(ApiProtoTest, EveryMessageRoundTrips) {
  const char* kFiles[] = {
      "api/mvccpb/kv.proto",
      "api/authpb/auth.proto",
      "api/etcdserverpb/rpc.proto",
      "api/v3electionpb/v3election.proto",
      "api/v3lockpb/v3lock.proto",
  };
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  MessageFactory* factory = MessageFactory::generated_factory();
  int messages = 0;
  for (const char* name : kFiles) {
    const FileDescriptor* file = pool->FindFileByName(name);
    ASSERT_NE(file, nullptr) << name;
    std::vector<const Descriptor*> todo;
    for (int i = 0; i < file->message_type_count(); ++i) {
      todo.push_back(file->message_type(i));
    }
    while (!todo.empty()) {
      const Descriptor* descriptor = todo.back();
      todo.pop_back();
      for (int i = 0; i < descriptor->nested_type_count(); ++i) {
        todo.push_back(descriptor->nested_type(i));
      }
      std::unique_ptr<Message> original(
          factory->GetPrototype(descriptor)->New());
      int counter = 0;
      FillAllFields(original.get(), 3, &counter);
      std::string wire;
      ASSERT_TRUE(original->SerializeToString(&wire)) << descriptor->full_name();
      std::unique_ptr<Message> parsed(original->New());
      ASSERT_TRUE(parsed->ParseFromString(wire)) << descriptor->full_name();
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
          *original, *parsed))
          << descriptor->full_name();
      if (descriptor->field_count() > 0) {
        EXPECT_FALSE(wire.empty()) << descriptor->full_name();
      }
      ++messages;
    }
  }
  // etcd 3.5's API has well over a hundred messages; a missing file or a
  // truncated proto would show up here.
  EXPECT_GT(messages, 100);
}

}  // namespace
}  // namespace etcdpp::api
