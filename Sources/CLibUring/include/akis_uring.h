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

/// An io_uring instance for one feed-reader thread, optionally with a ring of provided receive
/// buffers (buffer group 0). Opaque: liburing's header stays out of Swift.
typedef struct akis_uring akis_uring;

/// One completion, copied out of the completion queue.
typedef struct akis_uring_completion {
    uint64_t token;   ///< the submitter's token (user_data)
    int32_t res;      ///< bytes, a new fd, 0, or -errno
    uint32_t flags;   ///< IORING_CQE_F_* bits
} akis_uring_completion;

/// Sets up a ring with `entries` submission slots. With `buffer_count` > 0 (a power of two at most
/// 32768) it also maps and registers that many provided buffers of `buffer_size` bytes.
/// Returns NULL and stores the errno in `*error` on failure.
akis_uring *akis_uring_create(uint32_t entries, uint32_t buffer_count, uint32_t buffer_size, int32_t *error);
void akis_uring_destroy(akis_uring *ring);

/// Queue operations; each returns 0, or -EBUSY when the submission queue is full even after a submit.
int32_t akis_uring_recv_multishot(akis_uring *ring, int32_t fd, uint64_t token);
int32_t akis_uring_recv(akis_uring *ring, int32_t fd, void *buffer, uint32_t length, uint64_t token);
int32_t akis_uring_accept(akis_uring *ring, int32_t fd, uint64_t token);
int32_t akis_uring_connect(akis_uring *ring, int32_t fd, const void *address, uint32_t length, uint64_t token);
/// Asks the kernel to cancel the operation submitted with `token`.
int32_t akis_uring_cancel(akis_uring *ring, uint64_t token, uint64_t cancel_token);

/// Submits what is queued, waits up to `timeout_ns` for at least one completion, and copies up to
/// `capacity` completions to `out`. Returns how many, or -errno (never -ETIME or -EINTR: those are 0).
int32_t akis_uring_run(akis_uring *ring, akis_uring_completion *out, uint32_t capacity, int64_t timeout_ns);

/// The provided buffer with id `buffer_id` (a completion flagged IORING_CQE_F_BUFFER names it in
/// its upper 16 flag bits), and handing it back to the kernel once its bytes are consumed.
uint8_t *akis_uring_buffer(akis_uring *ring, uint16_t buffer_id);
void akis_uring_recycle(akis_uring *ring, uint16_t buffer_id);

/// Constants Swift cannot read from liburing.h.
uint32_t akis_uring_flag_more(void);
uint32_t akis_uring_flag_buffer(void);
uint32_t akis_uring_buffer_shift(void);

#endif
