#include "io/watchdog.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

namespace kvsim {
namespace {

using Clock = std::chrono::steady_clock;

struct Armed {
  Clock::time_point deadline;
  std::string what;
};

class Watchdog {
 public:
  static Watchdog& instance() {
    static Watchdog* dog = new Watchdog();  // never destroyed: its thread outlives main's statics
    return *dog;
  }

  unsigned long arm(double seconds, std::string what) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!thread_started_) {
      std::thread([this] { run(); }).detach();
      thread_started_ = true;
    }
    const auto id = next_id_++;
    const auto span = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    armed_[id] = Armed{Clock::now() + span, std::move(what)};
    changed_.notify_one();
    return id;
  }

  void disarm(unsigned long id) {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_.erase(id);
    changed_.notify_one();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (armed_.empty()) {
        changed_.wait(lock);
        continue;
      }
      auto first = armed_.begin();
      for (auto it = armed_.begin(); it != armed_.end(); ++it)
        if (it->second.deadline < first->second.deadline) first = it;
      if (Clock::now() >= first->second.deadline) {
        std::fprintf(stderr, "kvsim: error: %s: no progress before the deadline (corrupt file? "
                             "raise KVSIM_IO_TIMEOUT if the storage is just slow)\n",
                     first->second.what.c_str());
        std::fflush(stderr);
        std::_Exit(1);
      }
      const Clock::time_point deadline = first->second.deadline;  // the entry may go while we wait
      changed_.wait_until(lock, deadline);
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<unsigned long, Armed> armed_;
  unsigned long next_id_ = 1;
  bool thread_started_ = false;
};

double timeout_from_env(double fallback) {
  if (const char* text = std::getenv("KVSIM_IO_TIMEOUT")) {
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (end != text && value > 0) return value;
  }
  return fallback;
}

}  // namespace

WatchdogGuard::WatchdogGuard(double seconds, std::string what)
    : id_(Watchdog::instance().arm(timeout_from_env(seconds), std::move(what))) {}

WatchdogGuard::~WatchdogGuard() { Watchdog::instance().disarm(id_); }

}  // namespace kvsim
