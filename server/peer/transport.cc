#include "server/peer/transport.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace etcdpp::peer {
namespace {

// kMessages payload := (length:u32le raftpb.Message)*
void AppendMessage(const raftpb::Message& message, std::string* out) {
  const std::string bytes = message.SerializeAsString();
  char len[4];
  absl::little_endian::Store32(len, static_cast<uint32_t>(bytes.size()));
  out->append(len, 4);
  out->append(bytes);
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PeerTransport>> PeerTransport::Start(
    net::EventLoop* loop, TransportOptions options,
    TransportCallbacks callbacks) {
  if (options.member_id == 0) {
    return absl::InvalidArgumentError("peer transport: member id is 0");
  }
  std::unique_ptr<PeerTransport> transport(
      new PeerTransport(loop, std::move(options), std::move(callbacks)));
  PeerTransport* raw = transport.get();
  absl::StatusOr<std::unique_ptr<net::TcpListener>> listener =
      net::TcpListener::Listen(loop, raw->options_.listen_host,
                               raw->options_.listen_port,
                               [raw](int fd) { raw->OnAccepted(fd); });
  if (!listener.ok()) return listener.status();
  transport->listener_ = std::move(*listener);
  return transport;
}

PeerTransport::PeerTransport(net::EventLoop* loop, TransportOptions options,
                             TransportCallbacks callbacks)
    : loop_(loop),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      alive_(std::make_shared<bool>(true)) {}

PeerTransport::~PeerTransport() {
  *alive_ = false;
  for (auto& [id, peer] : peers_) {
    CancelTimers(peer);
    Disconnect(peer);
  }
  for (auto& [raw, weak] : unidentified_) {
    if (auto conn = weak.lock()) conn->Close();
  }
}

Hello PeerTransport::MakeHello(uint64_t to) const {
  Hello hello;
  hello.cluster_id = options_.cluster_id;
  hello.from = options_.member_id;
  hello.to = to;
  return hello;
}

void PeerTransport::AddPeer(uint64_t id, const std::string& host,
                            uint16_t port) {
  if (id == options_.member_id || peers_.contains(id)) return;
  Peer& peer = peers_[id];
  peer.id = id;
  peer.host = host;
  peer.port = port;
  if (Dials(id)) return Dial(id);
  if (options_.probe_after_ms == 0) return;
  absl::StatusOr<net::TimerId> timer =
      loop_->AddTimer(options_.probe_after_ms, options_.probe_after_ms,
                      [this, id] { Probe(id); });
  if (timer.ok()) peer.probe_timer = *timer;
}

void PeerTransport::CancelTimers(Peer& peer) {
  if (peer.reconnect_timer != 0) loop_->CancelTimer(peer.reconnect_timer);
  peer.reconnect_timer = 0;
  if (peer.probe_timer != 0) loop_->CancelTimer(peer.probe_timer);
  peer.probe_timer = 0;
}

void PeerTransport::Probe(uint64_t id) {
  auto it = peers_.find(id);
  if (it == peers_.end() || it->second.conn != nullptr) return;
  Dial(id);
}

void PeerTransport::RemovePeer(uint64_t id) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  CancelTimers(it->second);
  Peer& peer = it->second;
  // What raft already sent the member leaves before the connection closes:
  // a removed member learns of its removal from the commit index these
  // messages carry, and would otherwise never hear of it.
  std::shared_ptr<net::TcpConnection> conn;
  if (peer.established) {
    FlushPeer(peer);
    conn = std::move(peer.conn);
    peer.conn = nullptr;
  }
  Disconnect(peer);  // with the connection taken out, it is not cut here
  if (conn != nullptr) conn->CloseAfterFlush();
  peers_.erase(it);
}

bool PeerTransport::Connected(uint64_t id) const {
  auto it = peers_.find(id);
  return it != peers_.end() && it->second.established;
}

void PeerTransport::Dial(uint64_t id) {
  const Peer& peer = peers_.at(id);
  net::TcpConnect(loop_, peer.host, peer.port,
                  [this, id, alive = alive_](absl::StatusOr<int> fd) {
                    if (!*alive) {
                      if (fd.ok()) close(*fd);
                      return;
                    }
                    OnDialed(id, std::move(fd));
                  });
}

void PeerTransport::ScheduleRedial(uint64_t id) {
  Peer& peer = peers_.at(id);
  if (peer.reconnect_timer != 0) return;
  // Exponential backoff, so a member that is down is not hammered.
  peer.backoff_ms = peer.backoff_ms == 0
                        ? options_.reconnect_min_ms
                        : std::min(peer.backoff_ms * 2,
                                   options_.reconnect_max_ms);
  absl::StatusOr<net::TimerId> timer =
      loop_->AddTimer(peer.backoff_ms, 0, [this, id] {
        auto it = peers_.find(id);
        if (it == peers_.end()) return;
        it->second.reconnect_timer = 0;
        Dial(id);
      });
  if (timer.ok()) peer.reconnect_timer = *timer;
}

void PeerTransport::OnDialed(uint64_t id, absl::StatusOr<int> fd) {
  auto it = peers_.find(id);
  if (it == peers_.end()) {
    if (fd.ok()) close(*fd);
    return;
  }
  // A probe (the peer is the one that dials) retries on its own timer.
  const bool probe = !Dials(id);
  if (probe && it->second.conn != nullptr) {
    if (fd.ok()) close(*fd);  // the peer dialed meanwhile
    return;
  }
  if (!fd.ok()) {
    if (!probe) ScheduleRedial(id);
    return;
  }
  auto state = std::make_shared<ConnState>();
  state->peer = id;
  absl::StatusOr<std::shared_ptr<net::TcpConnection>> conn =
      Adopt(*fd, state, &it->second.host);
  if (!conn.ok()) {
    if (!probe) ScheduleRedial(id);
    return;
  }
  Disconnect(it->second);
  it->second.conn = *conn;
  std::string hello;
  AppendFrame(FrameType::kHello, EncodeHello(MakeHello(id)), &hello);
  (*conn)->Send(hello);
}

void PeerTransport::OnAccepted(int fd) {
  auto state = std::make_shared<ConnState>();
  absl::StatusOr<std::shared_ptr<net::TcpConnection>> conn =
      Adopt(fd, state, nullptr);
  if (!conn.ok()) return;
  unidentified_[conn->get()] = *conn;
}

absl::StatusOr<std::shared_ptr<net::TcpConnection>> PeerTransport::Adopt(
    int fd, std::shared_ptr<ConnState> state, const std::string* dialed_host) {
  std::unique_ptr<net::TlsSession> tls;
  if (options_.tls != nullptr) {
    absl::StatusOr<std::unique_ptr<net::TlsSession>> session =
        dialed_host != nullptr
            ? net::TlsSession::Client(options_.tls, *dialed_host)
            : net::TlsSession::Server(options_.tls);
    if (!session.ok()) {
      close(fd);
      return session.status();
    }
    tls = *std::move(session);
  }
  net::TcpConnection::Callbacks callbacks;
  callbacks.on_data = [this, state](std::string_view data) {
    OnData(state, data);
  };
  callbacks.on_close = [this, state](const absl::Status& status) {
    if (!status.ok() && callbacks_.on_connection_error) {
      callbacks_.on_connection_error(state->peer, status);
    }
    OnClosed(state);
  };
  callbacks.on_drained = [this, state] {
    auto it = peers_.find(state->peer);
    if (it != peers_.end() && it->second.conn.get() == state->conn) {
      PumpSnapshot(it->second);
    }
  };
  absl::StatusOr<std::shared_ptr<net::TcpConnection>> conn =
      net::TcpConnection::Adopt(loop_, fd, std::move(callbacks),
                                options_.snapshot_window_bytes,
                                std::move(tls));
  if (conn.ok()) state->conn = conn->get();
  return conn;
}

void PeerTransport::OnData(const std::shared_ptr<ConnState>& state,
                           std::string_view data) {
  state->reader.Feed(data);
  while (state->conn != nullptr && !state->conn->closed()) {
    absl::StatusOr<std::optional<Frame>> frame = state->reader.Next();
    if (!frame.ok()) {
      // A peer speaking garbage: drop the connection, never crash.
      state->conn->Close();
      return;
    }
    if (!frame->has_value()) return;
    if (state->peer == 0) {
      OnHello(state, **frame);
      if (state->peer == 0) return;  // rejected
      continue;
    }
    auto it = peers_.find(state->peer);
    if (it == peers_.end() || it->second.conn.get() != state->conn) {
      state->conn->Close();  // a stale connection of a replaced or gone peer
      return;
    }
    OnFrame(it->second, **frame);
  }
}

void PeerTransport::OnHello(const std::shared_ptr<ConnState>& state,
                            const Frame& frame) {
  net::TcpConnection* conn = state->conn;
  if (frame.type != FrameType::kHello) return Reject(conn, "expected hello");
  absl::StatusOr<Hello> hello = DecodeHello(frame.payload);
  if (!hello.ok()) return Reject(conn, std::string(hello.status().message()));
  if (hello->version != kProtocolVersion) {
    return Reject(conn, absl::StrCat("protocol version ", hello->version,
                                     ", want ", kProtocolVersion));
  }
  if (hello->cluster_id == 0 && hello->to == options_.member_id) {
    return AnswerDiscovery(conn, hello->from);
  }
  if (hello->cluster_id != options_.cluster_id) {
    return Reject(conn, absl::StrCat("cluster id mismatch: peer has ",
                                     absl::Hex(hello->cluster_id), ", local ",
                                     absl::Hex(options_.cluster_id)));
  }
  if (hello->to != options_.member_id) {
    return Reject(conn, absl::StrCat("member id mismatch: peer dialed ",
                                     absl::Hex(hello->to), ", local is ",
                                     absl::Hex(options_.member_id)));
  }
  if (callbacks_.is_removed && callbacks_.is_removed(hello->from)) {
    return Reject(conn,
                  absl::StrCat("member ", absl::Hex(hello->from),
                               " was removed from the cluster"),
                  FrameType::kRemoved);
  }
  auto it = peers_.find(hello->from);
  if (it == peers_.end() || Dials(hello->from)) {
    return Reject(conn, absl::StrCat("unknown peer ", absl::Hex(hello->from)));
  }
  auto owned = unidentified_.find(conn);
  std::shared_ptr<net::TcpConnection> shared =
      owned == unidentified_.end() ? nullptr : owned->second.lock();
  if (owned != unidentified_.end()) unidentified_.erase(owned);
  if (shared == nullptr) return;
  // A new hello replaces any older connection: the peer restarted.
  Disconnect(it->second);
  state->peer = hello->from;
  it->second.conn = shared;
  std::string ack;
  AppendFrame(FrameType::kHelloAck, EncodeHello(MakeHello(hello->from)), &ack);
  shared->Send(ack);
  Establish(it->second);
}

// A member joining the cluster does not know the cluster id yet: it asks
// with a hello of cluster id 0 (DiscoverClusterId), and learns it from the
// acknowledgement. The connection carries nothing else.
void PeerTransport::AnswerDiscovery(net::TcpConnection* conn, uint64_t from) {
  unidentified_.erase(conn);
  std::string ack;
  AppendFrame(FrameType::kHelloAck, EncodeHello(MakeHello(from)), &ack);
  if (callbacks_.member_list) {
    AppendFrame(FrameType::kMembers, callbacks_.member_list(), &ack);
  }
  conn->Send(ack);
  conn->CloseAfterFlush();
}

void PeerTransport::Reject(net::TcpConnection* conn, const std::string& reason,
                           FrameType type) {
  ++stats_.handshakes_rejected;
  unidentified_.erase(conn);
  std::string frame;
  AppendFrame(type, reason, &frame);
  conn->Send(frame);
  conn->CloseAfterFlush();
}

void PeerTransport::OnFrame(Peer& peer, const Frame& frame) {
  switch (frame.type) {
    case FrameType::kHelloAck: {
      absl::StatusOr<Hello> ack = DecodeHello(frame.payload);
      if (!ack.ok() || ack->cluster_id != options_.cluster_id ||
          ack->from != peer.id || ack->to != options_.member_id) {
        ++stats_.handshakes_rejected;
        peer.conn->Close();
        return;
      }
      return Establish(peer);
    }
    case FrameType::kReject:
      // The peer refused us (wrong cluster or id); keep retrying slowly, as
      // the operator may fix the peer's configuration.
      ++stats_.handshakes_rejected;
      peer.conn->Close();
      return;
    case FrameType::kRemoved:
      ++stats_.handshakes_rejected;
      peer.conn->Close();
      if (callbacks_.on_removed) callbacks_.on_removed();
      return;
    case FrameType::kMessages:
      return OnMessages(peer.id, frame.payload);
    case FrameType::kSnapshotBegin:
    case FrameType::kSnapshotChunk:
    case FrameType::kSnapshotEnd:
      if (absl::Status s = OnSnapshotFrame(peer, frame); !s.ok()) {
        AbortIncoming(peer);
        peer.conn->Close();
      }
      return;
    case FrameType::kHello:
    case FrameType::kMembers:
      peer.conn->Close();  // a second hello on an identified connection
      return;
  }
}

void PeerTransport::OnMessages(uint64_t id, const std::string& payload) {
  std::string_view rest = payload;
  while (!rest.empty()) {
    // Re-found each time: the callback may have removed the peer.
    auto it = peers_.find(id);
    if (it == peers_.end() || it->second.conn == nullptr) return;
    Peer& peer = it->second;
    if (rest.size() < 4) return peer.conn->Close();
    const uint32_t len = absl::little_endian::Load32(rest.data());
    rest.remove_prefix(4);
    if (len > rest.size()) return peer.conn->Close();
    raftpb::Message message;
    if (!message.ParseFromArray(rest.data(), len) ||
        message.from() != peer.id || message.to() != options_.member_id) {
      // Not what this peer may send us: drop the connection.
      return peer.conn->Close();
    }
    rest.remove_prefix(len);
    ++stats_.messages_received;
    if (callbacks_.on_message) callbacks_.on_message(std::move(message));
  }
}

void PeerTransport::Establish(Peer& peer) {
  peer.established = true;
  peer.backoff_ms = 0;
  FlushPeer(peer);
  PumpSnapshot(peer);
}

void PeerTransport::OnClosed(const std::shared_ptr<ConnState>& state) {
  net::TcpConnection* conn = state->conn;
  unidentified_.erase(conn);
  auto it = peers_.find(state->peer);
  if (it == peers_.end() || it->second.conn.get() != conn) return;
  Disconnect(it->second);
  if (Dials(it->first)) ScheduleRedial(it->first);
}

void PeerTransport::Disconnect(Peer& peer) {
  AbortIncoming(peer);
  while (!peer.snapshots.empty()) FinishOutgoing(peer, false);
  peer.established = false;
  std::shared_ptr<net::TcpConnection> conn = std::move(peer.conn);
  peer.conn = nullptr;
  if (conn != nullptr) conn->Close();
}

void PeerTransport::Send(const raftpb::Message& message) {
  auto it = peers_.find(message.to());
  if (it == peers_.end()) {
    ++stats_.messages_dropped;
    return;
  }
  it->second.pending.push_back(message);
  ScheduleFlush();
}

void PeerTransport::ScheduleFlush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  // Everything sent in this loop iteration leaves as one frame per peer.
  loop_->Post([this, alive = alive_] {
    if (*alive) Flush();
  });
}

void PeerTransport::Flush() {
  flush_scheduled_ = false;
  for (auto& [id, peer] : peers_) FlushPeer(peer);
}

void PeerTransport::FlushPeer(Peer& peer) {
  if (peer.pending.empty()) return;
  if (!peer.established) {
    stats_.messages_dropped += peer.pending.size();
    peer.pending.clear();
    if (callbacks_.on_unreachable) callbacks_.on_unreachable(peer.id);
    return;
  }
  std::string batch;
  for (const raftpb::Message& m : peer.pending) AppendMessage(m, &batch);
  stats_.messages_sent += peer.pending.size();
  peer.pending.clear();
  std::string frame;
  AppendFrame(FrameType::kMessages, batch, &frame);
  ++stats_.frames_sent;
  peer.conn->Send(frame);  // raft's own flow control bounds this buffer
}

void PeerTransport::SendSnapshot(const raftpb::Message& message,
                                 const std::string& path) {
  auto it = peers_.find(message.to());
  if (it == peers_.end() || !it->second.established) {
    if (callbacks_.on_snapshot_status) {
      callbacks_.on_snapshot_status(message.to(), false);
    }
    return;
  }
  OutgoingSnapshot job;
  job.message = message;
  job.path = path;
  it->second.snapshots.push_back(std::move(job));
  PumpSnapshot(it->second);
}

bool PeerTransport::StartOutgoing(Peer& peer, OutgoingSnapshot& job) {
  job.fd = open(job.path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (job.fd < 0 || fstat(job.fd, &st) != 0) return false;
  job.size = static_cast<uint64_t>(st.st_size);
  job.begun = true;
  std::string frame;
  AppendFrame(FrameType::kSnapshotBegin, job.message.SerializeAsString(),
              &frame);
  peer.conn->Send(frame);
  return true;
}

void PeerTransport::PumpSnapshot(Peer& peer) {
  while (peer.established && !peer.snapshots.empty()) {
    OutgoingSnapshot& job = peer.snapshots.front();
    if (!job.begun && !StartOutgoing(peer, job)) {
      return FinishOutgoing(peer, false);
    }
    std::string chunk(options_.snapshot_chunk_bytes, '\0');
    while (job.offset < job.size) {
      const ssize_t n = pread(job.fd, chunk.data(), chunk.size(), job.offset);
      if (n <= 0) {
        // The receiver holds a partial stream: only a new connection resets
        // it. Report the failure; raft retries the snapshot.
        FinishOutgoing(peer, false);
        if (peer.conn != nullptr) peer.conn->Close();
        return;
      }
      job.offset += n;
      std::string frame;
      AppendFrame(FrameType::kSnapshotChunk, std::string_view(chunk.data(), n),
                  &frame);
      // Above the window: wait for on_drained, so other traffic queued
      // meanwhile is never behind more than one window of snapshot bytes.
      if (!peer.conn->Send(frame)) return;
    }
    std::string end;
    AppendFrame(FrameType::kSnapshotEnd,
                EncodeSnapshotEnd(SnapshotEnd{job.size}), &end);
    peer.conn->Send(end);
    FinishOutgoing(peer, true);
  }
}

void PeerTransport::FinishOutgoing(Peer& peer, bool ok) {
  CHECK(!peer.snapshots.empty()) << "finishing a snapshot that was queued";
  OutgoingSnapshot job = std::move(peer.snapshots.front());
  peer.snapshots.pop_front();
  if (job.fd >= 0) close(job.fd);
  if (ok) ++stats_.snapshots_sent;
  if (callbacks_.on_snapshot_status) {
    callbacks_.on_snapshot_status(peer.id, ok);
  }
}

absl::Status PeerTransport::OnSnapshotFrame(Peer& peer, const Frame& frame) {
  IncomingSnapshot& in = peer.incoming;
  if (frame.type == FrameType::kSnapshotBegin) {
    AbortIncoming(peer);
    if (!in.message.ParseFromString(frame.payload) ||
        in.message.type() != raftpb::MsgSnap ||
        in.message.from() != peer.id) {
      return absl::InvalidArgumentError("bad snapshot message");
    }
    in.path = absl::StrCat(options_.snapshot_dir, "/peer-", peer.id, "-",
                           next_snapshot_file_++, ".snap.tmp");
    in.fd = open(in.path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC,
                 0600);
    in.bytes = 0;
    if (in.fd < 0) return absl::InternalError("cannot create " + in.path);
    return absl::OkStatus();
  }
  if (in.fd < 0) return absl::InvalidArgumentError("snapshot data without begin");
  if (frame.type == FrameType::kSnapshotChunk) {
    if (!WriteAll(in.fd, frame.payload)) {
      return absl::InternalError("cannot write " + in.path);
    }
    in.bytes += frame.payload.size();
    return absl::OkStatus();
  }
  absl::StatusOr<SnapshotEnd> end = DecodeSnapshotEnd(frame.payload);
  if (!end.ok()) return end.status();
  if (end->total_bytes != in.bytes) {
    return absl::DataLossError(absl::StrCat("snapshot stream: ", in.bytes,
                                            " bytes, sender says ",
                                            end->total_bytes));
  }
  const bool synced = fsync(in.fd) == 0;
  close(in.fd);
  in.fd = -1;
  if (!synced) return absl::InternalError("cannot sync " + in.path);
  ++stats_.snapshots_received;
  raftpb::Message message = std::move(in.message);
  std::string path = std::move(in.path);
  in = IncomingSnapshot{};
  if (callbacks_.on_snapshot) {
    callbacks_.on_snapshot(std::move(message), std::move(path));
  }
  return absl::OkStatus();
}

void PeerTransport::AbortIncoming(Peer& peer) {
  IncomingSnapshot& in = peer.incoming;
  if (in.fd >= 0) {
    close(in.fd);
    unlink(in.path.c_str());
  }
  in = IncomingSnapshot{};
}

}  // namespace etcdpp::peer
