// Open MPI, loaded at run time: the project builds and runs where no MPI is installed, and a
// process started by mpirun opens libmpi with RTLD_GLOBAL (Open MPI's plugins need its symbols).
// Open MPI's handles are pointers to global objects (MPI_COMM_WORLD is &ompi_mpi_comm_world), which
// Swift cannot import from mpi.h's macros; these functions take and return plain C types instead.
// Every function returns MPI's error code (0 = success) unless it says otherwise.
#ifndef GPT_CMPI_H
#define GPT_CMPI_H

#include <stddef.h>

// Opens libmpi (Open MPI's soname libmpi.so.40, or the library named by SWIFT_GPT_LIBMPI) and
// looks up every function and handle used here. 0 on success; otherwise writes why into message.
int gpt_mpi_open(char *message, size_t capacity);
// MPI_Init_thread asking for MPI_THREAD_FUNNELED (only the main thread calls MPI); returns the
// level provided through provided.
int gpt_mpi_init(int *provided);
int gpt_mpi_finalize(void);
int gpt_mpi_rank(int *rank);
int gpt_mpi_size(int *size);
// The library's own version string (MPI_Get_library_version).
int gpt_mpi_library_version(char *text, size_t capacity);
void gpt_mpi_abort(int code);

int gpt_mpi_barrier(void);
// Sums in place across ranks.
int gpt_mpi_allreduce_floats(float *data, long count);
int gpt_mpi_allreduce_doubles(double *data, long count);
// Maximum in place across ranks.
int gpt_mpi_allreduce_max_doubles(double *data, long count);
// A non-blocking in-place sum; *request is the handle for gpt_mpi_test / gpt_mpi_wait.
int gpt_mpi_iallreduce_floats(float *data, long count, void **request);
// Progresses and checks one request: *done = 1 when complete (the request is then released).
int gpt_mpi_test(void **request, int *done);
int gpt_mpi_wait(void **request);
// Sums `send` across ranks and leaves rank r's block (counts[r] values) in `receive`.
int gpt_mpi_reduce_scatter_floats(const float *send, float *receive, const int *counts);
// Every rank's block (counts[r] values at offsets[r]) of `data` to every rank, in place.
int gpt_mpi_allgather_floats(float *data, const int *counts, const int *offsets);
// Each rank's `count` bytes into `receive` (size × count bytes), in rank order.
int gpt_mpi_allgather_bytes(const void *send, void *receive, int count);
int gpt_mpi_broadcast_bytes(void *data, long count, int root);

// Ranks by machine (MPI_COMM_TYPE_SHARED): this rank's index and the count of ranks on its machine,
// and the number of machines. Also makes the communicator of the ranks with the same local index on
// every machine (for gpt_mpi_cross_allreduce_floats).
int gpt_mpi_split_machines(int *local_rank, int *local_size, int *machines);
// Memory shared by this machine's ranks (MPI_Win_allocate_shared, once per process): `bytes` of it
// belong to this rank; pointers[i] receives local rank i's block (local_size entries).
int gpt_mpi_shared_allocate(long bytes, void **pointers);
// Every local rank's writes to the shared memory visible to all: MPI_Win_sync, a barrier of this
// machine's ranks, MPI_Win_sync.
int gpt_mpi_shared_synchronize(void);
// Sums in place over the ranks that have this rank's local index, one per machine.
int gpt_mpi_cross_allreduce_floats(float *data, long count);

#endif
