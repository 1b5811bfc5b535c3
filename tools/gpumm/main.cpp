#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "cli.hpp"
#include "gpumm/study.hpp"

#ifdef GPUMM_WITH_MPI
#include <mpi.h>
#endif

namespace {
// What gpumm printed must have reached standard output: on a full disk (`> file`) a command
// that printed nothing useful fails, exit 1, instead of reporting success.
int flushed(int code) {
  std::cout.flush();
  if (std::cout || code != 0) return code;
  std::cerr << "gpumm: cannot write to standard output: " << std::strerror(errno) << "\n";
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
#ifdef GPUMM_WITH_MPI
  // started by mpirun (Open MPI or a PMI launcher): share studies among the ranks
  if (std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK")) {
    MPI_Init(&argc, &argv);
    gpumm::StudyShare share;
    MPI_Comm_rank(MPI_COMM_WORLD, &share.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &share.size);
    share.sum = [](double* data, long count) {
      // in pieces: MPI counts are ints
      for (long from = 0; from < count; from += 1 << 24) {
        const int n = static_cast<int>(std::min<long>(count - from, 1 << 24));
        MPI_Allreduce(MPI_IN_PLACE, data + from, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      }
    };
    const int code = gpumm::cli::main(args, std::cout, std::cerr, &share);
    MPI_Finalize();
    return flushed(code);
  }
#endif
  return flushed(gpumm::cli::main(args, std::cout, std::cerr));
}
