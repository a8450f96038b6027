// PeerTransport: the production raft transport between members, over
// net::EventLoop and TCP, using the frames of frame.h.
//
// One TCP connection per pair of members: the member with the lower id
// dials, with exponential backoff, and both sides send on that connection.
// A message for a peer with no established connection is dropped and the
// peer reported unreachable; raft retransmits (it tolerates loss).
//
// Small messages queued in one loop iteration go out as one frame. A
// snapshot is streamed from its file in chunks, interleaved with other
// traffic: at most one window of snapshot bytes sits ahead of any message.
//
// Threading: all methods and callbacks run on the loop thread.
#ifndef ETCDPP_SERVER_PEER_TRANSPORT_H_
#define ETCDPP_SERVER_PEER_TRANSPORT_H_

#include <cstdint>
#include <deque>
#include <string_view>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/event_loop.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "raft/raft.pb.h"
#include "server/peer/frame.h"

namespace etcdpp::peer {

struct TransportOptions {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;  // 0 picks a free port
  // Received snapshots are written here as temporary files.
  std::string snapshot_dir;
  uint64_t reconnect_min_ms = 50;
  uint64_t reconnect_max_ms = 2000;
  size_t snapshot_chunk_bytes = 256 << 10;
  // Snapshot bytes buffered ahead of other traffic before pausing.
  size_t snapshot_window_bytes = 1 << 20;
  // A peer that should dial this member (a lower id) but has not connected
  // for this long is dialed anyway, with a hello it answers with kRemoved
  // if it removed this member (and refuses otherwise): a member removed
  // while it was down learns it, whichever its id. 0: never.
  uint64_t probe_after_ms = 3000;
  // Peer TLS (https:// peer URLs): every connection, accepted or dialed,
  // runs through it, and a dialed peer's certificate must name the host it
  // was dialed at. Null: plaintext.
  std::shared_ptr<net::TlsContext> tls;
};

struct TransportCallbacks {
  // A raft message from a peer (never MsgSnap: see on_snapshot).
  std::function<void(raftpb::Message message)> on_message;
  // A MsgSnap whose state arrived completely into the file at `path`; the
  // receiver owns the file from now on.
  std::function<void(raftpb::Message message, std::string path)> on_snapshot;
  // A message to `peer` was dropped: no connection (raft ReportUnreachable).
  std::function<void(uint64_t peer)> on_unreachable;
  // A snapshot sent to `peer` finished streaming, or failed
  // (raft ReportSnapshot).
  std::function<void(uint64_t peer, bool ok)> on_snapshot_status;
  // A connection to or from `peer` (0: not identified yet) ended in an
  // error: a failed TLS handshake or certificate check, a reset. For the
  // operator's log; the transport redials by itself.
  std::function<void(uint64_t peer, const absl::Status& status)>
      on_connection_error;
  // Whether `id` is a member this cluster removed; a hello from one is
  // answered with kRemoved.
  std::function<bool(uint64_t id)> is_removed;
  // A peer answered this member's hello with kRemoved.
  std::function<void()> on_removed;
  // The member list sent to a joining member after the answer to its
  // discovery hello (kMembers); unset: none is sent.
  std::function<std::string()> member_list;
};

class PeerTransport {
 public:
  static absl::StatusOr<std::unique_ptr<PeerTransport>> Start(
      net::EventLoop* loop, TransportOptions options,
      TransportCallbacks callbacks);
  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  void AddPeer(uint64_t id, const std::string& host, uint16_t port);
  void RemovePeer(uint64_t id);

  // Queues a raft message; it is flushed with the others queued in this
  // loop iteration.
  void Send(const raftpb::Message& message);
  // Streams the snapshot file at `path` after the MsgSnap `message`.
  void SendSnapshot(const raftpb::Message& message, const std::string& path);
  // Hands every queued message to its connection now rather than at the
  // end of this loop iteration (before a planned stop).
  void FlushNow() { Flush(); }

  uint16_t port() const { return listener_->port(); }
  bool Connected(uint64_t peer) const;

  struct Stats {
    uint64_t frames_sent = 0;
    uint64_t messages_sent = 0;
    uint64_t messages_dropped = 0;
    uint64_t messages_received = 0;
    uint64_t handshakes_rejected = 0;
    uint64_t snapshots_sent = 0;
    uint64_t snapshots_received = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct OutgoingSnapshot {
    raftpb::Message message;
    std::string path;
    int fd = -1;
    uint64_t offset = 0;
    uint64_t size = 0;
    bool begun = false;
  };
  struct IncomingSnapshot {
    raftpb::Message message;
    std::string path;
    int fd = -1;
    uint64_t bytes = 0;
  };
  struct Peer {
    uint64_t id = 0;
    std::string host;
    uint16_t port = 0;
    std::shared_ptr<net::TcpConnection> conn;
    bool established = false;
    std::vector<raftpb::Message> pending;
    uint64_t backoff_ms = 0;
    net::TimerId reconnect_timer = 0;
    net::TimerId probe_timer = 0;  // for a peer that dials this member
    std::deque<OutgoingSnapshot> snapshots;
    IncomingSnapshot incoming;
  };
  // What a connection's callbacks know: whose it is (0 until the hello
  // identifies the peer on an accepted connection) and its frame reader.
  struct ConnState {
    uint64_t peer = 0;
    FrameReader reader;
    net::TcpConnection* conn = nullptr;
  };

  PeerTransport(net::EventLoop* loop, TransportOptions options,
                TransportCallbacks callbacks);
  bool Dials(uint64_t peer) const { return options_.member_id < peer; }
  void Dial(uint64_t id);
  void ScheduleRedial(uint64_t id);
  void OnDialed(uint64_t id, absl::StatusOr<int> fd);
  void OnAccepted(int fd);
  // dialed_host: the host a dialed connection went to (its TLS peer must
  // be named so); null for an accepted one.
  absl::StatusOr<std::shared_ptr<net::TcpConnection>> Adopt(
      int fd, std::shared_ptr<ConnState> state,
      const std::string* dialed_host);
  void OnData(const std::shared_ptr<ConnState>& state, std::string_view data);
  void OnClosed(const std::shared_ptr<ConnState>& state);
  void OnHello(const std::shared_ptr<ConnState>& state, const Frame& frame);
  void Reject(net::TcpConnection* conn, const std::string& reason,
              FrameType type = FrameType::kReject);
  // Dials a peer that should dial this member but has not (see
  // TransportOptions::probe_after_ms).
  void Probe(uint64_t id);
  void CancelTimers(Peer& peer);
  void AnswerDiscovery(net::TcpConnection* conn, uint64_t from);
  void OnFrame(Peer& peer, const Frame& frame);
  void OnMessages(uint64_t id, const std::string& payload);
  void Establish(Peer& peer);
  void Disconnect(Peer& peer);
  void ScheduleFlush();
  void Flush();
  void FlushPeer(Peer& peer);
  void PumpSnapshot(Peer& peer);
  bool StartOutgoing(Peer& peer, OutgoingSnapshot& job);
  void FinishOutgoing(Peer& peer, bool ok);
  void AbortIncoming(Peer& peer);
  absl::Status OnSnapshotFrame(Peer& peer, const Frame& frame);
  Hello MakeHello(uint64_t to) const;

  net::EventLoop* const loop_;
  const TransportOptions options_;
  const TransportCallbacks callbacks_;
  std::unique_ptr<net::TcpListener> listener_;
  std::map<uint64_t, Peer> peers_;
  // Accepted connections not yet identified by a hello, to close them when
  // this transport goes away.
  std::map<net::TcpConnection*, std::weak_ptr<net::TcpConnection>>
      unidentified_;
  bool flush_scheduled_ = false;
  uint64_t next_snapshot_file_ = 1;
  Stats stats_;
  // Set on destruction, so posted tasks that outlive this do nothing.
  std::shared_ptr<bool> alive_;
};

}  // namespace etcdpp::peer

#endif  // ETCDPP_SERVER_PEER_TRANSPORT_H_
