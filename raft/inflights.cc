#include "raft/inflights.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "base/check.h"

namespace etcdpp::raft {

Inflights::Inflights(size_t max_count, uint64_t max_bytes)
    : max_count_(max_count), max_bytes_(max_bytes) {
  CHECK_GT(max_count, 0u) << "an inflight window holds at least one message";
}

size_t Inflights::Slot(size_t i) const {
  size_t slot = start_ + i;
  if (slot >= buffer_.size()) slot -= buffer_.size();
  return slot;
}

void Inflights::Grow() {
  // Doubling keeps Add amortized O(1) while an idle or slow follower never
  // pays for a window of max_count_ messages it does not use.
  const size_t new_size =
      std::min(max_count_, std::max<size_t>(1, buffer_.size() * 2));
  std::vector<Inflight> grown(new_size);
  for (size_t i = 0; i < count_; ++i) grown[i] = buffer_[Slot(i)];
  buffer_ = std::move(grown);
  start_ = 0;
}

void Inflights::Add(uint64_t index, uint64_t bytes) {
  CHECK(!Full()) << "no message is added to a full inflight window";
  if (count_ > 0) {
    CHECK_GE(index, buffer_[Slot(count_ - 1)].index)
        << "inflight indexes are added in non-decreasing order";
  }
  if (count_ == buffer_.size()) Grow();
  CHECK_LT(count_, buffer_.size()) << "the ring buffer has a free slot";
  buffer_[Slot(count_)] = {index, bytes};
  ++count_;
  bytes_ += bytes;
}

void Inflights::FreeLE(uint64_t to) {
  // Indexes are ordered, so the acknowledged messages are a prefix.
  size_t freed = 0;
  uint64_t freed_bytes = 0;
  while (freed < count_ && buffer_[Slot(freed)].index <= to) {
    freed_bytes += buffer_[Slot(freed)].bytes;
    ++freed;
  }
  if (freed == 0) return;
  CHECK_LE(freed_bytes, bytes_) << "freed bytes were counted in the window";
  start_ = Slot(freed);
  count_ -= freed;
  bytes_ -= freed_bytes;
  // An empty window starts over at slot 0; nothing depends on it, but it
  // keeps the ring easy to read in a debugger.
  if (count_ == 0) start_ = 0;
}

bool Inflights::Full() const {
  if (count_ == max_count_) return true;
  return max_bytes_ != 0 && bytes_ >= max_bytes_;
}

void Inflights::Reset() {
  start_ = 0;
  count_ = 0;
  bytes_ = 0;
}

void Inflights::CheckInvariants() const {
  CHECK_LE(count_, buffer_.size()) << "the window fits in its ring buffer";
  CHECK_LE(buffer_.size(), max_count_) << "the ring never outgrows max_count";
  if (count_ > 0) {
    CHECK_LT(start_, buffer_.size()) << "the window starts inside the ring";
  }
  uint64_t sum = 0;
  for (size_t i = 0; i < count_; ++i) {
    sum += buffer_[Slot(i)].bytes;
    if (i > 0) {
      CHECK_LE(buffer_[Slot(i - 1)].index, buffer_[Slot(i)].index)
          << "inflight indexes are non-decreasing";
    }
  }
  CHECK_EQ(sum, bytes_) << "bytes is the sum of the window's messages";
}

}  // namespace etcdpp::raft
