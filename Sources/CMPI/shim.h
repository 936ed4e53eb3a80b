// The few MPI calls the data-parallel trainer makes, as plain functions Swift can import.
//
// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE) are macros over
// addresses of library globals, which Swift cannot import; these static inline wrappers name
// them in C. Every call works on MPI_COMM_WORLD, whose default error handler
// (MPI_ERRORS_ARE_FATAL) aborts the whole job on a communication error. Call only from the
// thread that called bitgpt_mpi_init.
#ifndef BITGPT_CMPI_SHIM_H
#define BITGPT_CMPI_SHIM_H

#include <mpi.h>
#include <limits.h>
#include <stdint.h>

/// Initialises MPI (MPI_Init). Returns MPI_SUCCESS (0) or an MPI error code.
static inline int bitgpt_mpi_init(void) {
    int done = 0;
    MPI_Initialized(&done);
    if (done) return MPI_SUCCESS;
    return MPI_Init(NULL, NULL);
}

/// This process's rank in MPI_COMM_WORLD.
static inline int bitgpt_mpi_rank(void) {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

/// The number of processes in MPI_COMM_WORLD.
static inline int bitgpt_mpi_size(void) {
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

/// Replaces buf[0 ..< count] on every rank by its element-wise sum over all ranks
/// (MPI_Allreduce in place, MPI_SUM), in pieces of at most INT_MAX elements.
static inline int bitgpt_mpi_sum_floats(float *buf, int64_t count) {
    while (count > 0) {
        int n = count > INT_MAX ? INT_MAX : (int)count;
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        buf += n;
        count -= n;
    }
    return MPI_SUCCESS;
}

/// Replaces buf[0 ..< count] (count <= INT_MAX) on every rank by its sum over all ranks.
static inline int bitgpt_mpi_sum_doubles(double *buf, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

/// Copies `bytes` bytes at buf (count <= INT_MAX) from rank `root` to every other rank.
static inline int bitgpt_mpi_broadcast(void *buf, int bytes, int root) {
    return MPI_Bcast(buf, bytes, MPI_BYTE, root, MPI_COMM_WORLD);
}

/// Waits until every rank has called it.
static inline int bitgpt_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

/// Ends every process of the job with `code` (MPI_Abort); does not return in practice.
static inline void bitgpt_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

/// Shuts MPI down (MPI_Finalize); every rank calls it once before exiting normally.
static inline int bitgpt_mpi_finalize(void) {
    int done = 0;
    MPI_Finalized(&done);
    if (done) return MPI_SUCCESS;
    return MPI_Finalize();
}

#endif
