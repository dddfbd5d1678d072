#pragma once
// Graceful interruption of long runs. SIGINT/SIGTERM only set a flag; the sweep
// checks it before starting each (policy, budget, layer) unit, so finished
// units are journaled and the run stops cleanly. The handlers are one-shot: a
// second Ctrl-C kills the process at once (the journal is still intact,
// because every fragment is written atomically).
#include <stdexcept>

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

// Commands that cannot resume (synth, capture) stop by throwing this at a safe
// point: unwinding removes their temporary files (AtomicFile), and main()
// prints one line and exits with 128 + signal.
struct Interrupted : std::runtime_error {
  explicit Interrupted(int signo);
  int signal;
};

// Throws Interrupted when SIGINT/SIGTERM arrived since the guard was installed.
void throw_if_interrupted();

// "SIGINT" / "SIGTERM".
const char* signal_name(int signo);

}  // namespace kvsim
