// Open MPI through dlopen/dlsym (see CMPI.h). The types below are Open MPI's ABI: handles are
// pointers, MPI_IN_PLACE is (void *)1, MPI_STATUS_IGNORE is NULL.
#include "CMPI.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *mpi_handle;
#define MPI_IN_PLACE_ ((void *)1)
#define MPI_THREAD_FUNNELED_ 1
#define MPI_COMM_TYPE_SHARED_ 0
#define MPI_MODE_NOCHECK_ 1

static struct {
    int (*init_thread)(int *, char ***, int, int *);
    int (*finalize)(void);
    int (*comm_rank)(mpi_handle, int *);
    int (*comm_size)(mpi_handle, int *);
    int (*get_library_version)(char *, int *);
    int (*abort)(mpi_handle, int);
    int (*barrier)(mpi_handle);
    int (*allreduce)(const void *, void *, int, mpi_handle, mpi_handle, mpi_handle);
    int (*iallreduce)(const void *, void *, int, mpi_handle, mpi_handle, mpi_handle, mpi_handle *);
    int (*test)(mpi_handle *, int *, void *);
    int (*wait)(mpi_handle *, void *);
    int (*reduce_scatter)(const void *, void *, const int *, mpi_handle, mpi_handle, mpi_handle);
    int (*allgatherv)(const void *, int, mpi_handle, void *, const int *, const int *, mpi_handle, mpi_handle);
    int (*allgather)(const void *, int, mpi_handle, void *, int, mpi_handle, mpi_handle);
    int (*bcast)(void *, int, mpi_handle, int, mpi_handle);
    int (*comm_split_type)(mpi_handle, int, int, mpi_handle, mpi_handle *);
    int (*comm_split)(mpi_handle, int, int, mpi_handle *);
    int (*win_allocate_shared)(long, int, mpi_handle, mpi_handle, void *, mpi_handle *);
    int (*win_shared_query)(mpi_handle, int, long *, int *, void *);
    int (*win_lock_all)(int, mpi_handle);
    int (*win_sync)(mpi_handle);
    mpi_handle world, float_type, double_type, byte_type, int_type, sum, max, info_null;
    // This machine's ranks, the ranks with this local index across machines, and the shared window.
    mpi_handle machine, cross, window;
} mpi;

int gpt_mpi_open(char *message, size_t capacity) {
    const char *name = getenv("SWIFT_GPT_LIBMPI");
    if (!name || !*name) name = "libmpi.so.40";
    void *library = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
    if (!library) {
        snprintf(message, capacity, "cannot open %s (%s)", name, dlerror());
        return 1;
    }
    // Open MPI's predefined handles are these globals; MPICH's are integers and has none of them.
    if (!dlsym(library, "ompi_mpi_comm_world")) {
        snprintf(message, capacity, "%s is not Open MPI (it has no ompi_mpi_comm_world); swift-gpt supports Open MPI only", name);
        return 2;
    }
#define FIND(field, symbol) \
    if (!(*(void **)&mpi.field = dlsym(library, symbol))) { \
        snprintf(message, capacity, "%s lacks %s", name, symbol); \
        return 3; \
    }
    FIND(init_thread, "MPI_Init_thread") FIND(finalize, "MPI_Finalize") FIND(comm_rank, "MPI_Comm_rank")
    FIND(comm_size, "MPI_Comm_size") FIND(get_library_version, "MPI_Get_library_version") FIND(abort, "MPI_Abort")
    FIND(barrier, "MPI_Barrier") FIND(allreduce, "MPI_Allreduce") FIND(iallreduce, "MPI_Iallreduce")
    FIND(test, "MPI_Test") FIND(wait, "MPI_Wait") FIND(reduce_scatter, "MPI_Reduce_scatter")
    FIND(allgatherv, "MPI_Allgatherv") FIND(allgather, "MPI_Allgather") FIND(bcast, "MPI_Bcast")
    FIND(comm_split_type, "MPI_Comm_split_type") FIND(comm_split, "MPI_Comm_split")
    FIND(win_allocate_shared, "MPI_Win_allocate_shared") FIND(win_shared_query, "MPI_Win_shared_query")
    FIND(win_lock_all, "MPI_Win_lock_all") FIND(win_sync, "MPI_Win_sync") FIND(info_null, "ompi_mpi_info_null")
    FIND(world, "ompi_mpi_comm_world") FIND(float_type, "ompi_mpi_float") FIND(double_type, "ompi_mpi_double")
    FIND(byte_type, "ompi_mpi_byte") FIND(int_type, "ompi_mpi_int") FIND(sum, "ompi_mpi_op_sum") FIND(max, "ompi_mpi_op_max")
#undef FIND
    return 0;
}

int gpt_mpi_init(int *provided) { return mpi.init_thread(NULL, NULL, MPI_THREAD_FUNNELED_, provided); }
int gpt_mpi_finalize(void) { return mpi.finalize(); }
int gpt_mpi_rank(int *rank) { return mpi.comm_rank(mpi.world, rank); }
int gpt_mpi_size(int *size) { return mpi.comm_size(mpi.world, size); }

int gpt_mpi_library_version(char *text, size_t capacity) {
    char buffer[8192];  // MPI_MAX_LIBRARY_VERSION_STRING is 256 in Open MPI; room to spare
    int length = 0;
    int code = mpi.get_library_version(buffer, &length);
    if (code == 0) snprintf(text, capacity, "%.*s", length, buffer);
    return code;
}

void gpt_mpi_abort(int code) { mpi.abort(mpi.world, code); }
int gpt_mpi_barrier(void) { return mpi.barrier(mpi.world); }

int gpt_mpi_allreduce_floats(float *data, long count) {
    return mpi.allreduce(MPI_IN_PLACE_, data, (int)count, mpi.float_type, mpi.sum, mpi.world);
}

int gpt_mpi_allreduce_doubles(double *data, long count) {
    return mpi.allreduce(MPI_IN_PLACE_, data, (int)count, mpi.double_type, mpi.sum, mpi.world);
}

int gpt_mpi_allreduce_max_doubles(double *data, long count) {
    return mpi.allreduce(MPI_IN_PLACE_, data, (int)count, mpi.double_type, mpi.max, mpi.world);
}

int gpt_mpi_iallreduce_floats(float *data, long count, void **request) {
    return mpi.iallreduce(MPI_IN_PLACE_, data, (int)count, mpi.float_type, mpi.sum, mpi.world, request);
}

int gpt_mpi_test(void **request, int *done) { return mpi.test(request, done, NULL); }
int gpt_mpi_wait(void **request) { return mpi.wait(request, NULL); }

int gpt_mpi_reduce_scatter_floats(const float *send, float *receive, const int *counts) {
    return mpi.reduce_scatter(send, receive, counts, mpi.float_type, mpi.sum, mpi.world);
}

int gpt_mpi_allgather_floats(float *data, const int *counts, const int *offsets) {
    return mpi.allgatherv(MPI_IN_PLACE_, 0, mpi.float_type, data, counts, offsets, mpi.float_type, mpi.world);
}

int gpt_mpi_allgather_bytes(const void *send, void *receive, int count) {
    return mpi.allgather(send, count, mpi.byte_type, receive, count, mpi.byte_type, mpi.world);
}

int gpt_mpi_broadcast_bytes(void *data, long count, int root) {
    return mpi.bcast(data, (int)count, mpi.byte_type, root, mpi.world);
}

int gpt_mpi_split_machines(int *local_rank, int *local_size, int *machines) {
    int rank = 0, code;
    if ((code = mpi.comm_rank(mpi.world, &rank))) return code;
    if (!mpi.machine && (code = mpi.comm_split_type(mpi.world, MPI_COMM_TYPE_SHARED_, rank, mpi.info_null, &mpi.machine))) return code;
    if ((code = mpi.comm_rank(mpi.machine, local_rank)) || (code = mpi.comm_size(mpi.machine, local_size))) return code;
    if (!mpi.cross && (code = mpi.comm_split(mpi.world, *local_rank, rank, &mpi.cross))) return code;
    // Machines: the ranks with local index 0.
    int first = *local_rank == 0;
    if ((code = mpi.allreduce(MPI_IN_PLACE_, &first, 1, mpi.int_type, mpi.sum, mpi.world))) return code;
    *machines = first;
    return 0;
}

int gpt_mpi_shared_allocate(long bytes, void **pointers) {
    if (!mpi.machine || mpi.window) return -1;
    void *base = NULL;
    int code = mpi.win_allocate_shared(bytes, 1, mpi.info_null, mpi.machine, &base, &mpi.window);
    if (code) return code;
    if ((code = mpi.win_lock_all(MPI_MODE_NOCHECK_, mpi.window))) return code;
    int size = 0;
    if ((code = mpi.comm_size(mpi.machine, &size))) return code;
    for (int i = 0; i < size; i++) {
        long length = 0;
        int unit = 0;
        if ((code = mpi.win_shared_query(mpi.window, i, &length, &unit, &pointers[i]))) return code;
    }
    return 0;
}

int gpt_mpi_shared_synchronize(void) {
    int code;
    if ((code = mpi.win_sync(mpi.window))) return code;
    if ((code = mpi.barrier(mpi.machine))) return code;
    return mpi.win_sync(mpi.window);
}

int gpt_mpi_cross_allreduce_floats(float *data, long count) {
    return mpi.allreduce(MPI_IN_PLACE_, data, (int)count, mpi.float_type, mpi.sum, mpi.cross);
}
