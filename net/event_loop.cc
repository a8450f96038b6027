#include "net/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace etcdpp::net {
namespace {

absl::Status ErrnoStatus(const char* what, int err) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

uint32_t ToEpoll(uint32_t events) {
  uint32_t out = 0;
  if (events & kReadable) out |= EPOLLIN | EPOLLRDHUP;
  if (events & kWritable) out |= EPOLLOUT;
  return out;
}

uint32_t FromEpoll(uint32_t epoll_events) {
  uint32_t out = 0;
  if (epoll_events & (EPOLLIN | EPOLLRDHUP)) out |= kReadable;
  if (epoll_events & EPOLLOUT) out |= kWritable;
  if (epoll_events & EPOLLERR) out |= kError;
  if (epoll_events & EPOLLHUP) out |= kHangup;
  return out;
}

uint64_t ThisThread() {
  // Never 0 in practice; 0 means "no loop thread".
  return std::hash<std::thread::id>()(std::this_thread::get_id()) | 1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return ErrnoStatus("epoll_create1", errno);
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    const int err = errno;
    close(epoll_fd);
    return ErrnoStatus("eventfd", err);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev) != 0) {
    const int err = errno;
    close(wake_fd);
    close(epoll_fd);
    return ErrnoStatus("epoll_ctl(eventfd)", err);
  }
  return std::unique_ptr<EventLoop>(new EventLoop(epoll_fd, wake_fd));
}

EventLoop::EventLoop(int epoll_fd, int wake_fd)
    : epoll_fd_(epoll_fd), wake_fd_(wake_fd) {}

EventLoop::~EventLoop() {
  for (const auto& [id, fd] : timer_fds_) close(fd);
  close(wake_fd_);
  close(epoll_fd_);
}

void EventLoop::Run() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    loop_thread_ = ThisThread();
  }
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) break;
    }
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, -1);
    if (n < 0) {
      CHECK_EQ(errno, EINTR) << "epoll_wait fails only when interrupted";
      continue;
    }
    for (int i = 0; i < n; ++i) Dispatch(events[i].data.fd, events[i].events);
  }
  RunPostedTasks();
  std::lock_guard<std::mutex> lock(mu_);
  loop_thread_ = 0;
  stop_ = false;
}

void EventLoop::Dispatch(int fd, uint32_t epoll_events) {
  if (fd == wake_fd_) {
    uint64_t count;
    // Reading resets the eventfd counter; EAGAIN means another read won.
    (void)!read(wake_fd_, &count, sizeof(count));
    RunPostedTasks();
    return;
  }
  auto it = handlers_.find(fd);
  if (it == handlers_.end()) return;  // unwatched earlier in this batch
  std::shared_ptr<Handler> handler = it->second;
  (*handler)(FromEpoll(epoll_events));
}

void EventLoop::RunPostedTasks() {
  std::vector<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(posted_);
  }
  for (Task& task : tasks) task();
}

void EventLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void EventLoop::Post(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    posted_.push_back(std::move(task));
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

bool EventLoop::InLoopThread() const {
  std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(mu_));
  return loop_thread_ == ThisThread();
}

absl::Status EventLoop::Watch(int fd, uint32_t events, Handler handler) {
  CHECK(!handlers_.contains(fd)) << "an fd is watched at most once";
  epoll_event ev{};
  ev.events = ToEpoll(events);
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return ErrnoStatus("epoll_ctl(ADD)", errno);
  }
  handlers_[fd] = std::make_shared<Handler>(std::move(handler));
  return absl::OkStatus();
}

absl::Status EventLoop::Modify(int fd, uint32_t events) {
  CHECK(handlers_.contains(fd)) << "only a watched fd is modified";
  epoll_event ev{};
  ev.events = ToEpoll(events);
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    return ErrnoStatus("epoll_ctl(MOD)", errno);
  }
  return absl::OkStatus();
}

void EventLoop::Unwatch(int fd) {
  if (handlers_.erase(fd) == 0) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

absl::StatusOr<TimerId> EventLoop::AddTimer(uint64_t delay_ms,
                                            uint64_t period_ms, Task callback) {
  const int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (fd < 0) return ErrnoStatus("timerfd_create", errno);
  // A zero it_value disarms a timerfd, so "now" is one nanosecond.
  itimerspec spec{};
  spec.it_value.tv_sec = delay_ms / 1000;
  spec.it_value.tv_nsec = (delay_ms % 1000) * 1000000 + (delay_ms == 0);
  spec.it_interval.tv_sec = period_ms / 1000;
  spec.it_interval.tv_nsec = (period_ms % 1000) * 1000000;
  if (timerfd_settime(fd, 0, &spec, nullptr) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoStatus("timerfd_settime", err);
  }
  const TimerId id = next_timer_id_++;
  const bool periodic = period_ms != 0;
  auto task = std::make_shared<Task>(std::move(callback));
  absl::Status watched = Watch(fd, kReadable, [this, fd, id, periodic, task](
                                                  uint32_t) {
    uint64_t expirations;
    if (read(fd, &expirations, sizeof(expirations)) < 0) return;  // spurious
    if (!periodic) CancelTimer(id);
    (*task)();
  });
  if (!watched.ok()) {
    close(fd);
    return watched;
  }
  timer_fds_[id] = fd;
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  auto it = timer_fds_.find(id);
  if (it == timer_fds_.end()) return;
  Unwatch(it->second);
  close(it->second);
  timer_fds_.erase(it);
}

}  // namespace etcdpp::net
