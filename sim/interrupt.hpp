#pragma once
// Graceful interruption of long runs. SIGINT/SIGTERM only set a flag; the sweep
// checks it before starting each (policy, budget, layer) unit, so finished
// units are journaled and the run stops cleanly. The handlers are one-shot: a
// second Ctrl-C kills the process at once (the journal is still intact,
// because every fragment is written atomically).
namespace kvsim {

class InterruptGuard {
 public:
  InterruptGuard();   // installs the handlers (and clears the flag)
  ~InterruptGuard();  // restores the previous handlers
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// 0 while no signal arrived, else the signal number (SIGINT or SIGTERM).
int interrupt_signal();
inline bool interrupt_requested() { return interrupt_signal() != 0; }

}  // namespace kvsim
