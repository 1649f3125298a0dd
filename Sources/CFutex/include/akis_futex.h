#ifndef AKIS_FUTEX_H
#define AKIS_FUTEX_H
#include <stdint.h>

/// A 32-bit word shared between threads, operated on with sequentially consistent atomics, and
/// futex(2) waits and wakes on it (Swift cannot call the variadic syscall(2) itself).
void akis_word_store(uint32_t *word, uint32_t value);
uint32_t akis_word_load(uint32_t *word);
uint32_t akis_word_exchange(uint32_t *word, uint32_t value);
/// A full memory barrier.
void akis_fence(void);
/// Sleeps while *word == expected, at most timeout_nanos (or until woken). Returns at once when
/// *word differs.
void akis_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_nanos);
/// Wakes up to `count` threads waiting on word.
void akis_futex_wake(uint32_t *word, int count);

#endif
