#pragma once
// The MPI world of a run. MPI is started only when a launcher started this
// process (mpirun/mpiexec of OpenMPI, or srun: their environment variables
// say so), so the same binary runs alone with no MPI start-up at all, and a
// lone run has world size 1. Ranks are processes; OpenMP threads run inside
// each (MPI_THREAD_FUNNELED: only the main thread calls MPI).
#include <string>
#include <vector>

namespace kvsim {

class MpiWorld {
 public:
  // Starts MPI when launched by mpirun/srun (call once, from main).
  static void start(int* argc, char*** argv);
  static void finish();  // MPI_Finalize when started
  // Ends every rank: the run failed on this one (MPI_Abort; a lone run just exits).
  [[noreturn]] static void abort(int exit_code);

  static bool active();  // started by a launcher
  static int rank();     // 0 when alone
  static int size();     // 1 when alone

  static void barrier();
  // Every rank's `mine` (same length on every rank) at rank 0, rank-major;
  // other ranks get an empty vector.
  static std::vector<double> gather(const std::vector<double>& mine);
  // Rank 0's value on every rank.
  static long broadcast(long value);
  // The largest value of any rank, on every rank.
  static long max(long value);
};

}  // namespace kvsim
