#include "CMPIBridge.h"
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

struct sa_mpi_request {
    MPI_Request request;
};

static int make_request(sa_mpi_request **out) {
    *out = malloc(sizeof(sa_mpi_request));
    return *out ? MPI_SUCCESS : MPI_ERR_NO_MEM;
}

int sa_mpi_init(int *rank, int *size) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
        int provided = 0;
        int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
        if (rc != MPI_SUCCESS) return rc;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rc = MPI_Comm_rank(MPI_COMM_WORLD, rank);
    if (rc != MPI_SUCCESS) return rc;
    return MPI_Comm_size(MPI_COMM_WORLD, size);
}

int sa_mpi_initialized(void) {
    int flag = 0;
    MPI_Initialized(&flag);
    int finalized = 0;
    MPI_Finalized(&finalized);
    return flag && !finalized;
}

int sa_mpi_finalize(void) { return MPI_Finalize(); }

int sa_mpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }

void sa_mpi_error_string(int code, char *buffer, int length) {
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(code, text, &n) != MPI_SUCCESS) {
        strncpy(text, "unknown MPI error", sizeof(text));
        n = (int)strlen(text);
    }
    if (length <= 0) return;
    if (n >= length) n = length - 1;
    memcpy(buffer, text, (size_t)n);
    buffer[n] = 0;
}

void sa_mpi_processor_name(char *buffer, int length) {
    char name[MPI_MAX_PROCESSOR_NAME];
    int n = 0;
    if (MPI_Get_processor_name(name, &n) != MPI_SUCCESS) n = 0;
    if (length <= 0) return;
    if (n >= length) n = length - 1;
    memcpy(buffer, name, (size_t)n);
    buffer[n] = 0;
}

int sa_mpi_isum_f32(float *buffer, int count, sa_mpi_request **request) {
    int rc = make_request(request);
    if (rc != MPI_SUCCESS) return rc;
    rc = MPI_Iallreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &(*request)->request);
    if (rc != MPI_SUCCESS) { free(*request); *request = NULL; }
    return rc;
}

int sa_mpi_isum_f64(double *buffer, int count, sa_mpi_request **request) {
    int rc = make_request(request);
    if (rc != MPI_SUCCESS) return rc;
    rc = MPI_Iallreduce(MPI_IN_PLACE, buffer, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &(*request)->request);
    if (rc != MPI_SUCCESS) { free(*request); *request = NULL; }
    return rc;
}

int sa_mpi_imin_u64(uint64_t *buffer, int count, sa_mpi_request **request) {
    int rc = make_request(request);
    if (rc != MPI_SUCCESS) return rc;
    rc = MPI_Iallreduce(MPI_IN_PLACE, buffer, count, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD, &(*request)->request);
    if (rc != MPI_SUCCESS) { free(*request); *request = NULL; }
    return rc;
}

int sa_mpi_ibarrier(sa_mpi_request **request) {
    int rc = make_request(request);
    if (rc != MPI_SUCCESS) return rc;
    rc = MPI_Ibarrier(MPI_COMM_WORLD, &(*request)->request);
    if (rc != MPI_SUCCESS) { free(*request); *request = NULL; }
    return rc;
}

int sa_mpi_ibcast(void *buffer, int count, int root, sa_mpi_request **request) {
    int rc = make_request(request);
    if (rc != MPI_SUCCESS) return rc;
    rc = MPI_Ibcast(buffer, count, MPI_BYTE, root, MPI_COMM_WORLD, &(*request)->request);
    if (rc != MPI_SUCCESS) { free(*request); *request = NULL; }
    return rc;
}

int sa_mpi_test(sa_mpi_request *request, int *done) {
    *done = 0;
    int rc = MPI_Test(&request->request, done, MPI_STATUS_IGNORE);
    if (rc == MPI_SUCCESS && *done) free(request);
    return rc;
}

void sa_mpi_request_free(sa_mpi_request *request) {
    // Only after a failure, when the job is being torn down: the MPI request itself is left to
    // MPI_Abort/MPI_Finalize (cancelling a collective is not allowed).
    free(request);
}
