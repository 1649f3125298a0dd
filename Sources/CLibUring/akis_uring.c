#include "akis_uring.h"
#include <liburing.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

enum { PROBE_ENTRIES = 4, PROBE_BUF_SIZE = 256, PROBE_GROUP = 7 };

// Submits one multishot recv on a socketpair, writes a message, and expects a completion that
// used a provided buffer and promises more (IORING_CQE_F_MORE).
static int probe_multishot(struct io_uring *ring, struct io_uring_buf_ring *br, char *bufs) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return errno;
    io_uring_buf_ring_init(br);
    for (int i = 0; i < PROBE_ENTRIES; i++)
        io_uring_buf_ring_add(br, bufs + i * PROBE_BUF_SIZE, PROBE_BUF_SIZE, (unsigned short)i,
                              io_uring_buf_ring_mask(PROBE_ENTRIES), i);
    io_uring_buf_ring_advance(br, PROBE_ENTRIES);

    int err = 0;
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    io_uring_prep_recv_multishot(sqe, fds[0], NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = PROBE_GROUP;
    if (io_uring_submit(ring) != 1) { err = EIO; goto out; }
    if (write(fds[1], "akis", 4) != 4) { err = errno; goto out; }

    struct io_uring_cqe *cqe;
    int ret = io_uring_wait_cqe(ring, &cqe);
    if (ret < 0) { err = -ret; goto out; }
    if (cqe->res < 0) err = -cqe->res;
    else if (cqe->res != 4 || !(cqe->flags & IORING_CQE_F_BUFFER) || !(cqe->flags & IORING_CQE_F_MORE))
        err = EOPNOTSUPP;
    io_uring_cqe_seen(ring, cqe);
out:
    close(fds[1]);  // ends the multishot request with a final completion
    close(fds[0]);
    while (io_uring_peek_cqe(ring, &cqe) == 0) io_uring_cqe_seen(ring, cqe);
    return err;
}

akis_uring_probe_result akis_uring_probe(void) {
    akis_uring_probe_result r = { .setup_errno = 0, .buf_ring_errno = ENOSYS, .multishot_errno = ENOSYS, .features = 0 };
    struct io_uring ring;
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    int ret = io_uring_queue_init_params(8, &ring, &params);
    if (ret < 0) { r.setup_errno = -ret; return r; }
    r.features = params.features;

    // liburing 2.3 has io_uring_register_buf_ring but not io_uring_setup_buf_ring (2.4+):
    // map the ring memory ourselves and register it.
    size_t ring_size = PROBE_ENTRIES * sizeof(struct io_uring_buf);
    size_t total = ring_size + PROBE_ENTRIES * PROBE_BUF_SIZE;
    char *mem = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) { r.buf_ring_errno = errno; goto done; }
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (unsigned long)mem;
    reg.ring_entries = PROBE_ENTRIES;
    reg.bgid = PROBE_GROUP;
    ret = io_uring_register_buf_ring(&ring, &reg, 0);
    r.buf_ring_errno = ret < 0 ? -ret : 0;
    if (ret == 0) {
        r.multishot_errno = probe_multishot(&ring, (struct io_uring_buf_ring *)mem, mem + ring_size);
        io_uring_unregister_buf_ring(&ring, PROBE_GROUP);
    }
    munmap(mem, total);
done:
    io_uring_queue_exit(&ring);
    return r;
}
