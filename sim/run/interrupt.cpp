#include "sim/run/interrupt.hpp"

#include <csignal>
#include <string>

namespace kvsim {
namespace {
volatile std::sig_atomic_t g_signal = 0;
struct sigaction g_old_int, g_old_term;

extern "C" void on_interrupt(int signo) { g_signal = signo; }
}  // namespace

InterruptGuard::InterruptGuard() {
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  // SA_RESETHAND: the second signal gets the default action (terminate now).
  // SA_RESTART: file reads in progress (HDF5) resume instead of failing with EINTR.
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

int interrupt_signal() { return g_signal; }

const char* signal_name(int signo) { return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "signal"; }

Interrupted::Interrupted(int signo) : std::runtime_error(std::string("interrupted (") + signal_name(signo) + ")"), signal(signo) {}

void throw_if_interrupted() {
  if (const int signo = interrupt_signal()) throw Interrupted(signo);
}

}  // namespace kvsim
