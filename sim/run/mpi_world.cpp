#include "sim/run/mpi_world.hpp"

// The C API only: OpenMPI's deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstdlib>

namespace kvsim {

namespace {
bool g_started = false;
int g_rank = 0, g_size = 1;

// Set by OpenMPI's mpirun/mpiexec for every rank it starts, and by Slurm's
// srun (PMI/PMIx) for every task of a step.
bool launched_by_mpi_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}
}  // namespace

void MpiWorld::start(int* argc, char*** argv) {
  if (g_started || !launched_by_mpi_launcher()) return;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_started = true;
}

void MpiWorld::finish() {
  if (!g_started) return;
  MPI_Finalize();
  g_started = false;
}

void MpiWorld::abort(int exit_code) {
  if (g_started && g_size > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
  finish();
  std::exit(exit_code);
}

bool MpiWorld::active() { return g_started; }
int MpiWorld::rank() { return g_rank; }
int MpiWorld::size() { return g_size; }

void MpiWorld::barrier() {
  if (g_started) MPI_Barrier(MPI_COMM_WORLD);
}

std::vector<double> MpiWorld::gather(const std::vector<double>& mine) {
  if (!g_started) return mine;
  std::vector<double> all(g_rank == 0 ? mine.size() * std::size_t(g_size) : 0);
  MPI_Gather(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, g_rank == 0 ? all.data() : nullptr,
             static_cast<int>(mine.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return all;
}

long MpiWorld::broadcast(long value) {
  if (g_started) MPI_Bcast(&value, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  return value;
}

long MpiWorld::max(long value) {
  long out = value;
  if (g_started) MPI_Allreduce(&value, &out, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
  return out;
}

}  // namespace kvsim
