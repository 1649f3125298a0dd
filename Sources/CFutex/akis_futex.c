#define _GNU_SOURCE
#include "akis_futex.h"
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void akis_word_store(uint32_t *word, uint32_t value) { __atomic_store_n(word, value, __ATOMIC_SEQ_CST); }
uint32_t akis_word_load(uint32_t *word) { return __atomic_load_n(word, __ATOMIC_SEQ_CST); }
uint32_t akis_word_exchange(uint32_t *word, uint32_t value) { return __atomic_exchange_n(word, value, __ATOMIC_SEQ_CST); }
void akis_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

void akis_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_nanos) {
    struct timespec relative = { .tv_sec = timeout_nanos / 1000000000, .tv_nsec = timeout_nanos % 1000000000 };
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, &relative, NULL, 0);
}

void akis_futex_wake(uint32_t *word, int count) { syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0); }
