// An epoll event loop: file-descriptor readiness, timers (timerfd) and tasks
// posted from other threads (woken through an eventfd).
//
// Threading: one thread calls Run(); every handler and timer callback runs on
// that thread. Post() and Stop() may be called from any thread. Everything
// else (Watch, AddTimer, ...) must be called on the loop thread, or before
// Run() starts. This is production code only: the deterministic core never
// sees it (DESIGN.md, "The node and its Env seam").
#ifndef ETCDPP_NET_EVENT_LOOP_H_
#define ETCDPP_NET_EVENT_LOOP_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace etcdpp::net {

// Readiness bits given to a handler, a subset of what it asked for plus
// kError/kHangup, which are always reported.
enum Events : uint32_t {
  kReadable = 1u << 0,
  kWritable = 1u << 1,
  kError = 1u << 2,
  kHangup = 1u << 3,
};

using TimerId = uint64_t;

class EventLoop {
 public:
  using Handler = std::function<void(uint32_t events)>;
  using Task = std::function<void()>;

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs until Stop(). Tasks posted before Stop() are run before it returns.
  void Run();
  // Thread-safe. Makes Run() return after the current iteration.
  void Stop();
  // Thread-safe. Runs `task` on the loop thread, in posting order.
  void Post(Task task);

  // Calls `handler` when `fd` is ready for any of `events` (level-triggered).
  // The loop does not own `fd`; Unwatch it before closing it.
  absl::Status Watch(int fd, uint32_t events, Handler handler);
  absl::Status Modify(int fd, uint32_t events);
  void Unwatch(int fd);

  // Calls `callback` after `delay_ms`, then every `period_ms` if non-zero.
  absl::StatusOr<TimerId> AddTimer(uint64_t delay_ms, uint64_t period_ms,
                                   Task callback);
  void CancelTimer(TimerId id);

  bool InLoopThread() const;

 private:
  EventLoop(int epoll_fd, int wake_fd);
  void RunPostedTasks();
  void Dispatch(int fd, uint32_t epoll_events);

  const int epoll_fd_;
  const int wake_fd_;  // eventfd: Post() and Stop() write to it
  // Handlers by fd. A shared_ptr, so a handler that unwatches itself (or
  // another fd) while running is not destroyed under its own feet.
  std::map<int, std::shared_ptr<Handler>> handlers_;
  std::map<TimerId, int> timer_fds_;
  TimerId next_timer_id_ = 1;

  std::mutex mu_;  // guards the fields below
  std::vector<Task> posted_;
  bool stop_ = false;
  uint64_t loop_thread_ = 0;  // hash of the running thread's id, 0 if none
};

}  // namespace etcdpp::net

#endif  // ETCDPP_NET_EVENT_LOOP_H_
