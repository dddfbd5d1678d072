#pragma once
// libhdf5 1.10 can also crash (SEGV, heap overflow) on some corrupted files —
// the fuzzer found several, all inside the library (README "Fuzzing"). The CLI
// installs this handler so such a file ends with one clear stderr line and
// exit status 1, naming what was being read, instead of a core dump.
namespace kvsim {

// Installs handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT (glibc's
// abort on a corrupted heap; it prints its own line, e.g. `free(): invalid
// pointer`, before ours). No-op in
// sanitizer builds, whose own reports are more useful there.
void install_crash_handler();

// What the process is reading right now ("" when idle); kept by WatchdogGuard.
void set_current_activity(const char* what);

}  // namespace kvsim
