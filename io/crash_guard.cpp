#include "io/crash_guard.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <initializer_list>

namespace kvsim {
namespace {

// Written outside the handler, read inside it: a fixed buffer, no allocation.
char g_activity[512] = "";

void write_all(const char* text) {
  std::size_t left = std::strlen(text);
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<std::size_t>(n);
  }
}

void on_fatal_signal(int sig) {
  write_all("kvsim: error: ");
  if (g_activity[0] != '\0') {
    write_all(g_activity);
    write_all(": the HDF5 library crashed on this input (");
    write_all(strsignal(sig));
    write_all("); the file is corrupt or not a valid kvdump\n");
  } else {
    write_all("internal error (");
    write_all(strsignal(sig));
    write_all("); please report it with the command line\n");
  }
  ::_exit(1);
}

}  // namespace

void set_current_activity(const char* what) {
  std::strncpy(g_activity, what ? what : "", sizeof g_activity - 1);
  g_activity[sizeof g_activity - 1] = '\0';
}

void install_crash_handler() {
#if defined(__SANITIZE_ADDRESS__)
  return;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return;
#endif
#endif
  struct sigaction action {};
  action.sa_handler = on_fatal_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  // SIGABRT too: glibc aborts when it detects the heap corruption that
  // libhdf5 leaves on some corrupt files ("free(): invalid pointer").
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &action, nullptr);
}

}  // namespace kvsim
