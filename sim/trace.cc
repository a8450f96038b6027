#include "sim/trace.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace etcdpp::sim {

uint64_t Fnv1a(std::string_view bytes, uint64_t hash) {
  for (char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= kFnvPrime;
  }
  return hash;
}

Trace::Trace(std::ostream* out, size_t tail_lines)
    : out_(out), tail_lines_(tail_lines) {}

void Trace::Add(int64_t time_us, std::string_view line) {
  std::string full = absl::StrCat(FormatTime(time_us), " ", std::string(line));
  // The newline is hashed too, so "ab"+"c" and "a"+"bc" differ.
  hash_ = Fnv1a(full, hash_);
  hash_ = Fnv1a("\n", hash_);
  ++events_;
  if (out_ != nullptr) *out_ << full << "\n";
  if (tail_lines_ == 0) return;
  if (tail_.size() == tail_lines_) tail_.pop_front();
  tail_.push_back(std::move(full));
}

std::vector<std::string> Trace::Tail() const {
  return std::vector<std::string>(tail_.begin(), tail_.end());
}

std::string FormatTime(int64_t time_us) {
  return absl::StrFormat("%d.%06ds", time_us / 1000000, time_us % 1000000);
}

}  // namespace etcdpp::sim
