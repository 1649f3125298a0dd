#include "akis_uring.h"
#include <liburing.h>
#include <errno.h>
#include <stdlib.h>
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

struct akis_uring {
    struct io_uring ring;
    struct io_uring_buf_ring *buf_ring;
    uint8_t *buffers;
    size_t mapped;
    uint32_t buffer_count;
    uint32_t buffer_size;
};

enum { AKIS_GROUP = 0 };

akis_uring *akis_uring_create(uint32_t entries, uint32_t buffer_count, uint32_t buffer_size, int32_t *error) {
    akis_uring *u = calloc(1, sizeof *u);
    if (!u) { *error = ENOMEM; return NULL; }
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    // The completion queue is made large so that many multishot receives never overflow it.
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = entries * 8;
    int ret = io_uring_queue_init_params(entries, &u->ring, &params);
    if (ret < 0) { free(u); *error = -ret; return NULL; }
    if (buffer_count > 0) {
        if (buffer_count > 32768 || (buffer_count & (buffer_count - 1)) != 0 || buffer_size == 0) {
            io_uring_queue_exit(&u->ring); free(u); *error = EINVAL; return NULL;
        }
        size_t ring_bytes = (size_t)buffer_count * sizeof(struct io_uring_buf);
        ring_bytes = (ring_bytes + 4095) & ~(size_t)4095;
        u->mapped = ring_bytes + (size_t)buffer_count * buffer_size;
        void *mem = mmap(NULL, u->mapped, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
        if (mem == MAP_FAILED) { *error = errno; io_uring_queue_exit(&u->ring); free(u); return NULL; }
        struct io_uring_buf_reg reg;
        memset(&reg, 0, sizeof reg);
        reg.ring_addr = (unsigned long)mem;
        reg.ring_entries = buffer_count;
        reg.bgid = AKIS_GROUP;
        ret = io_uring_register_buf_ring(&u->ring, &reg, 0);
        if (ret < 0) { *error = -ret; munmap(mem, u->mapped); io_uring_queue_exit(&u->ring); free(u); return NULL; }
        u->buf_ring = mem;
        u->buffers = (uint8_t *)mem + ring_bytes;
        u->buffer_count = buffer_count;
        u->buffer_size = buffer_size;
        io_uring_buf_ring_init(u->buf_ring);
        int mask = io_uring_buf_ring_mask(buffer_count);
        for (uint32_t i = 0; i < buffer_count; i++)
            io_uring_buf_ring_add(u->buf_ring, u->buffers + (size_t)i * buffer_size, buffer_size, (unsigned short)i, mask, (int)i);
        io_uring_buf_ring_advance(u->buf_ring, (int)buffer_count);
    }
    return u;
}

void akis_uring_destroy(akis_uring *u) {
    if (!u) return;
    if (u->buf_ring) io_uring_unregister_buf_ring(&u->ring, AKIS_GROUP);
    io_uring_queue_exit(&u->ring);
    if (u->buf_ring) munmap(u->buf_ring, u->mapped);
    free(u);
}

static struct io_uring_sqe *next_sqe(akis_uring *u) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

int32_t akis_uring_recv_multishot(akis_uring *u, int32_t fd, uint64_t token) {
    struct io_uring_sqe *sqe = next_sqe(u);
    if (!sqe) return -EBUSY;
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = AKIS_GROUP;
    io_uring_sqe_set_data64(sqe, token);
    return 0;
}

int32_t akis_uring_recv(akis_uring *u, int32_t fd, void *buffer, uint32_t length, uint64_t token) {
    struct io_uring_sqe *sqe = next_sqe(u);
    if (!sqe) return -EBUSY;
    io_uring_prep_recv(sqe, fd, buffer, length, 0);
    io_uring_sqe_set_data64(sqe, token);
    return 0;
}

int32_t akis_uring_accept(akis_uring *u, int32_t fd, uint64_t token) {
    struct io_uring_sqe *sqe = next_sqe(u);
    if (!sqe) return -EBUSY;
    io_uring_prep_accept(sqe, fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, token);
    return 0;
}

int32_t akis_uring_connect(akis_uring *u, int32_t fd, const void *address, uint32_t length, uint64_t token) {
    struct io_uring_sqe *sqe = next_sqe(u);
    if (!sqe) return -EBUSY;
    io_uring_prep_connect(sqe, fd, (const struct sockaddr *)address, (socklen_t)length);
    io_uring_sqe_set_data64(sqe, token);
    return 0;
}

int32_t akis_uring_cancel(akis_uring *u, uint64_t token, uint64_t cancel_token) {
    struct io_uring_sqe *sqe = next_sqe(u);
    if (!sqe) return -EBUSY;
    io_uring_prep_cancel64(sqe, token, 0);
    io_uring_sqe_set_data64(sqe, cancel_token);
    return 0;
}

int32_t akis_uring_run(akis_uring *u, akis_uring_completion *out, uint32_t capacity, int64_t timeout_ns) {
    struct io_uring_cqe *cqe = NULL;
    struct __kernel_timespec ts = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
    int ret = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
    if (ret < 0 && ret != -ETIME && ret != -EINTR) return ret;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&u->ring, head, cqe) {
        if (n == capacity) break;
        out[n].token = cqe->user_data;
        out[n].res = cqe->res;
        out[n].flags = cqe->flags;
        n++;
    }
    io_uring_cq_advance(&u->ring, n);
    return (int32_t)n;
}

uint8_t *akis_uring_buffer(akis_uring *u, uint16_t buffer_id) {
    return u->buffers + (size_t)buffer_id * u->buffer_size;
}

void akis_uring_recycle(akis_uring *u, uint16_t buffer_id) {
    io_uring_buf_ring_add(u->buf_ring, akis_uring_buffer(u, buffer_id), u->buffer_size, buffer_id,
                          io_uring_buf_ring_mask(u->buffer_count), 0);
    io_uring_buf_ring_advance(u->buf_ring, 1);
}

uint32_t akis_uring_flag_more(void) { return IORING_CQE_F_MORE; }
uint32_t akis_uring_flag_buffer(void) { return IORING_CQE_F_BUFFER; }
uint32_t akis_uring_buffer_shift(void) { return IORING_CQE_BUFFER_SHIFT; }
