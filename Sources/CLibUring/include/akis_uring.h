#ifndef AKIS_URING_H
#define AKIS_URING_H
#include <stdint.h>

/// What the running kernel's io_uring offers, found by really using it: a small ring is set up,
/// a provided-buffer ring is registered, and one multishot receive runs over a socketpair.
/// Each field is 0 on success or the errno that the step failed with.
typedef struct akis_uring_probe_result {
    int32_t setup_errno;        ///< io_uring_queue_init_params
    int32_t buf_ring_errno;     ///< io_uring_register_buf_ring (ENOSYS if setup failed)
    int32_t multishot_errno;    ///< multishot recv into a provided buffer (ENOSYS if an earlier step failed)
    uint32_t features;          ///< io_uring_params.features reported by the kernel
} akis_uring_probe_result;

akis_uring_probe_result akis_uring_probe(void);

#endif
