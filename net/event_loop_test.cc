#include "net/event_loop.h"

#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace etcdpp::net {
namespace {

std::unique_ptr<EventLoop> NewLoop() {
  auto loop = EventLoop::Create();
  EXPECT_TRUE(loop.ok()) << loop.status();
  return std::move(*loop);
}

TEST(EventLoopTest, PostedTasksRunInOrderOnTheLoopThread) {
  auto loop = NewLoop();
  std::vector<int> order;
  std::thread::id loop_thread;
  for (int i = 0; i < 5; ++i) {
    loop->Post([&, i] {
      order.push_back(i);
      loop_thread = std::this_thread::get_id();
      EXPECT_TRUE(loop->InLoopThread());
    });
  }
  loop->Post([&] { loop->Stop(); });
  std::thread runner([&] { loop->Run(); });
  const std::thread::id runner_id = runner.get_id();
  runner.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(loop_thread, runner_id);
  EXPECT_FALSE(loop->InLoopThread());
}

TEST(EventLoopTest, PostFromManyThreadsWakesTheLoop) {
  auto loop = NewLoop();
  std::atomic<int> ran{0};
  std::thread runner([&] { loop->Run(); });
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&] {
      for (int i = 0; i < 250; ++i) loop->Post([&] { ++ran; });
    });
  }
  for (auto& p : posters) p.join();
  loop->Post([&] { loop->Stop(); });
  runner.join();
  EXPECT_EQ(ran.load(), 1000);
}

TEST(EventLoopTest, OneShotAndPeriodicTimers) {
  auto loop = NewLoop();
  int one_shot = 0;
  int periodic = 0;
  ASSERT_TRUE(loop->AddTimer(1, 0, [&] { ++one_shot; }).ok());
  absl::StatusOr<TimerId> tick = loop->AddTimer(1, 1, [&] {
    if (++periodic == 5) loop->Stop();
  });
  ASSERT_TRUE(tick.ok());
  loop->Run();
  EXPECT_EQ(one_shot, 1);
  EXPECT_EQ(periodic, 5);
  loop->CancelTimer(*tick);
}

TEST(EventLoopTest, CancelledTimerNeverFires) {
  auto loop = NewLoop();
  bool fired = false;
  absl::StatusOr<TimerId> timer = loop->AddTimer(5, 0, [&] { fired = true; });
  ASSERT_TRUE(timer.ok());
  loop->CancelTimer(*timer);
  ASSERT_TRUE(loop->AddTimer(20, 0, [&] { loop->Stop(); }).ok());
  loop->Run();
  EXPECT_FALSE(fired);
}

TEST(EventLoopTest, WatchedPipeBecomesReadable) {
  auto loop = NewLoop();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string got;
  ASSERT_TRUE(loop->Watch(fds[0], kReadable, [&](uint32_t events) {
                    EXPECT_TRUE(events & kReadable);
                    char c;
                    ASSERT_EQ(read(fds[0], &c, 1), 1);
                    got.push_back(c);
                    loop->Unwatch(fds[0]);  // from inside its own handler
                    loop->Stop();
                  }).ok());
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  loop->Run();
  EXPECT_EQ(got, "x");
  close(fds[0]);
  close(fds[1]);
}

TEST(EventLoopTest, StopBeforeRunReturnsAtOnceAndRunsPostedTasks) {
  auto loop = NewLoop();
  bool ran = false;
  loop->Post([&] { ran = true; });
  loop->Stop();
  loop->Run();
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace etcdpp::net
