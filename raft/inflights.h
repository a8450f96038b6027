// Inflights: the leader's window of append messages sent to one follower and
// not yet acknowledged, used for flow control while replicating.
//
// Each entry records the last log index a MsgApp carried and the bytes of
// its entries. The window is full when it holds max_count messages or, if
// max_bytes is not 0, at least max_bytes bytes; the leader then stops
// sending entries to that follower until acknowledgements free some room.
// Indexes must be added in non-decreasing order, which is the order the
// leader sends them in, so freeing everything up to an acknowledged index
// frees a prefix of the window.
//
// A value type, not thread-safe; the ring buffer grows on demand up to
// max_count, so an idle follower costs no memory.
#ifndef ETCDPP_RAFT_INFLIGHTS_H_
#define ETCDPP_RAFT_INFLIGHTS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace etcdpp::raft {

class Inflights {
 public:
  // max_count must be positive; max_bytes == 0 means no byte limit.
  Inflights(size_t max_count, uint64_t max_bytes);

  // Records a MsgApp whose last entry is `index` and whose entries total
  // `bytes`. Precondition: !Full(), and index is not below the last index
  // added.
  void Add(uint64_t index, uint64_t bytes);

  // Frees every message whose last index is <= to: the follower has
  // acknowledged them. Indexes below the window are a no-op.
  void FreeLE(uint64_t to);

  // True when no more messages may be sent: the count limit is reached, or
  // the byte limit (if any) is reached or exceeded.
  bool Full() const;

  size_t Count() const { return count_; }
  uint64_t Bytes() const { return bytes_; }
  size_t max_count() const { return max_count_; }
  uint64_t max_bytes() const { return max_bytes_; }

  // Frees everything.
  void Reset();

  void CheckInvariants() const;

 private:
  struct Inflight {
    uint64_t index;
    uint64_t bytes;
  };

  // The ring buffer slot of the i-th oldest message.
  size_t Slot(size_t i) const;
  void Grow();

  size_t max_count_;
  uint64_t max_bytes_;
  // Ring buffer of messages, oldest at start_. Grows by doubling up to
  // max_count_. Invariant: count_ <= buffer_.size() <= max_count_.
  std::vector<Inflight> buffer_;
  size_t start_ = 0;
  size_t count_ = 0;
  // Invariant: the sum of bytes of the count_ messages in the window.
  uint64_t bytes_ = 0;
};

}  // namespace etcdpp::raft

#endif  // ETCDPP_RAFT_INFLIGHTS_H_
