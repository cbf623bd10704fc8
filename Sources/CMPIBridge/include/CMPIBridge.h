// A thin C layer over the MPI calls data-parallel training needs. MPI's handles (MPI_COMM_WORLD,
// MPI_FLOAT, MPI_SUM) are macros over implementation symbols that Swift cannot import, so the Swift
// side sees plain functions and an opaque request type. Every function returns an MPI error code
// (MPI_SUCCESS is 0) so that failures reach Swift as errors instead of aborting the process.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct sa_mpi_request sa_mpi_request;

/// MPI_Init_thread(SERIALIZED) with MPI_ERRORS_RETURN on the world communicator.
int sa_mpi_init(int *rank, int *size);
int sa_mpi_initialized(void);
int sa_mpi_finalize(void);
/// Ends every rank of the job (MPI_Abort): for a failure the others cannot recover from.
int sa_mpi_abort(int code);
/// Writes MPI's text for `code` into `buffer` (NUL-terminated).
void sa_mpi_error_string(int code, char *buffer, int length);
/// This host's name as MPI reports it.
void sa_mpi_processor_name(char *buffer, int length);

/// Starts an in-place sum over every rank of `count` floats at `buffer` (non-blocking).
int sa_mpi_isum_f32(float *buffer, int count, sa_mpi_request **request);
/// Starts an in-place sum of doubles (non-blocking).
int sa_mpi_isum_f64(double *buffer, int count, sa_mpi_request **request);
/// Starts an in-place minimum and maximum of 64-bit unsigned values: `buffer[0..<count]` become the
/// minimum over ranks; callers pass negated copies for the maximum.
int sa_mpi_imin_u64(uint64_t *buffer, int count, sa_mpi_request **request);
/// Starts a barrier (non-blocking).
int sa_mpi_ibarrier(sa_mpi_request **request);
/// Starts a broadcast of `count` bytes from `root` (non-blocking).
int sa_mpi_ibcast(void *buffer, int count, int root, sa_mpi_request **request);
/// Tests a request; on completion (`*done` = 1) the request is freed.
int sa_mpi_test(sa_mpi_request *request, int *done);
/// Frees a request that will not be waited for (after a failure).
void sa_mpi_request_free(sa_mpi_request *request);
