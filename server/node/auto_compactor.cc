#include "server/node/auto_compactor.h"

#include <algorithm>

#include "base/check.h"

namespace etcdpp::server {

AutoCompactor::AutoCompactor(AutoCompactionOptions options)
    : options_(options) {
  using Mode = AutoCompactionOptions::Mode;
  if (options_.mode == Mode::kPeriodic) {
    CHECK_GT(options_.retention_ticks, 0)
        << "auto-compaction: periodic retention must be positive";
    CHECK_GT(options_.interval_cap_ticks, 0)
        << "auto-compaction: periodic interval cap must be positive";
    const int64_t interval =
        std::min(options_.retention_ticks, options_.interval_cap_ticks);
    sample_every_ = std::max<int64_t>(1, interval / 10);
    samples_kept_ =
        static_cast<size_t>(options_.retention_ticks / sample_every_) + 1;
    wait_ = options_.retention_ticks;
  } else if (options_.mode == Mode::kRevision) {
    CHECK_GT(options_.retention_revisions, 0)
        << "auto-compaction: revision retention must be positive";
    CHECK_GT(options_.revision_check_ticks, 0)
        << "auto-compaction: revision check interval must be positive";
  }
}

std::optional<int64_t> AutoCompactor::Tick(int64_t revision, bool leader) {
  switch (options_.mode) {
    case AutoCompactionOptions::Mode::kOff:
      return std::nullopt;
    case AutoCompactionOptions::Mode::kPeriodic:
      return TickPeriodic(revision, leader);
    case AutoCompactionOptions::Mode::kRevision:
      return TickRevision(revision, leader);
  }
  return std::nullopt;
}

std::optional<int64_t> AutoCompactor::TickPeriodic(int64_t revision,
                                                   bool leader) {
  // Sample at start and then every sample_every_ ticks; the window holds
  // the samples of the last retention period, its front the one P ago.
  if (now_ % sample_every_ == 0) {
    samples_.push_back(revision);
    if (samples_.size() > samples_kept_) samples_.pop_front();
  }
  ++now_;
  if (now_ % sample_every_ != 0) return std::nullopt;
  if (!leader || now_ - last_success_ < wait_) return std::nullopt;
  wait_ = std::min(options_.retention_ticks, options_.interval_cap_ticks);
  last_success_ = now_;
  return samples_.front();
}

std::optional<int64_t> AutoCompactor::TickRevision(int64_t revision,
                                                   bool leader) {
  ++now_;
  if (now_ % options_.revision_check_ticks != 0 || !leader) {
    return std::nullopt;
  }
  const int64_t target = revision - options_.retention_revisions;
  if (target <= 0 || target == last_revision_) return std::nullopt;
  last_revision_ = target;
  return target;
}

}  // namespace etcdpp::server
