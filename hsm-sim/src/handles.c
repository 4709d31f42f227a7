/* Handle tables for sessions and objects.
 * A handle is (generation << 20) | (index + 1): lookups are O(1), freed slots
 * are reused so a long-running process that creates and drops session objects
 * does not grow without bound, and the generation makes a stale handle miss
 * instead of reaching the slot's next occupant. Handles fit in 32 bits, like
 * every PKCS#11 client expects. Slots wait in a FIFO before reuse so the same
 * slot is not recycled on every free. */
#include <stdlib.h>
#include <string.h>

#include "hsm.h"

#define IDX_BITS 20
#define IDX_MASK ((1UL << IDX_BITS) - 1)
#define GEN_MAX 0xFFFU
#define REUSE_AFTER 64

static int grow(htab_t *t) {
  size_t ncap = t->cap ? t->cap * 2 : 64;
  if (ncap > IDX_MASK) ncap = IDX_MASK;
  if (ncap <= t->cap) return 0;
  void **np = realloc(t->ptr, ncap * sizeof(*np));
  if (!np) return 0;
  t->ptr = np;
  uint16_t *ng = realloc(t->gen, ncap * sizeof(*ng));
  if (!ng) return 0;
  t->gen = ng;
  uint32_t *nq = malloc(ncap * sizeof(*nq));
  if (!nq) return 0;
  /* unroll the ring into the new buffer */
  for (size_t i = 0; i < t->qlen; i++) nq[i] = t->queue[(t->qhead + i) % t->cap];
  free(t->queue);
  t->queue = nq;
  t->qhead = 0;
  memset(t->ptr + t->cap, 0, (ncap - t->cap) * sizeof(*np));
  memset(t->gen + t->cap, 0, (ncap - t->cap) * sizeof(*ng));
  t->cap = ncap;
  return 1;
}

CK_ULONG ht_add(htab_t *t, void *p) {
  size_t idx;
  if (t->qlen > REUSE_AFTER || (t->span == t->cap && t->qlen > 0 && !grow(t))) {
    idx = t->queue[t->qhead];
    t->qhead = (t->qhead + 1) % t->cap;
    t->qlen--;
  } else {
    if (t->span == t->cap && !grow(t)) return 0;
    idx = t->span++;
  }
  t->gen[idx] = (uint16_t)(t->gen[idx] % GEN_MAX + 1);
  t->ptr[idx] = p;
  return ((CK_ULONG)t->gen[idx] << IDX_BITS) | (idx + 1);
}

static size_t index_of(const htab_t *t, CK_ULONG h) {
  size_t idx = (size_t)(h & IDX_MASK);
  if (idx == 0 || idx > t->span || (h >> IDX_BITS) != t->gen[idx - 1]) return (size_t)-1;
  return idx - 1;
}

void *ht_get(const htab_t *t, CK_ULONG h) {
  size_t i = index_of(t, h);
  return i == (size_t)-1 ? NULL : t->ptr[i];
}

void ht_del(htab_t *t, CK_ULONG h) {
  size_t i = index_of(t, h);
  if (i == (size_t)-1 || !t->ptr[i]) return;
  t->ptr[i] = NULL;
  t->queue[(t->qhead + t->qlen) % t->cap] = (uint32_t)i;
  t->qlen++;
}

void ht_clear(htab_t *t) {
  free(t->ptr);
  free(t->gen);
  free(t->queue);
  memset(t, 0, sizeof *t);
}
