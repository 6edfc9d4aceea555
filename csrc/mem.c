/*
 * mem.c -- raw memory: allocation and freeing in a transaction, snapshots,
 * substructures (blocks owned by one object, checked before use), and the
 * raw-memory entry points Python-defined types build on.
 *
 * Every offset read from the pool is checked (off_ok, in core.h) before
 * anything dereferences it.
 */
#include <errno.h>

#include "core.h"

/* -- helpers of the C files ------------------------------------------------- */

/* The data of the substructure at off, of size bytes, owned by owner; NULL
 * if the offset does not lead to one (damaged data). */
void *sub_data(pmo_pool *h, uint64_t off, uint64_t size, uint64_t owner)
{
    if (size > h->limit || !off_ok(h, off, sizeof(struct pmo_sub) + size))
        return NULL;
    struct pmo_sub *s = P(h, off);
    return s->magic == PMO_SUB_MAGIC && s->owner == owner ? s + 1 : NULL;
}

/* libpmemobj serves small sizes from runs, one run per size class, and a
 * run keeps its chunks while any unit of it is used; growing arrays
 * through many classes strands chunks (an 8 MiB pool has about 15).  From
 * 64 KiB up, arrays take whole 256 KiB chunks instead, which return to the
 * common free list.  Returns the data size to ask for (>= size). */
#define CHUNK (256 * 1024ULL)
#define ROUND_FROM (64 * 1024ULL)
#define CHUNK_SLACK 64   /* libpmemobj's header and ours fit in it */

uint64_t sub_round(uint64_t size)
{
    if (size < ROUND_FROM || size > PMEMOBJ_MAX_ALLOC_SIZE)
        return size;
    uint64_t total = size + CHUNK_SLACK;
    return (total + CHUNK - 1) / CHUNK * CHUNK - CHUNK_SLACK;
}

/* A fresh substructure of size bytes for owner, in the transaction. */
int sub_alloc(pmo_pool *h, uint64_t size, uint64_t type_num, uint64_t owner,
              uint64_t *off, void **data)
{
    int st = tx_alloc(h, sizeof(struct pmo_sub) + size, type_num, 0, off);
    if (st)
        return st;
    struct pmo_sub *s = P(h, *off);
    s->magic = PMO_SUB_MAGIC;
    s->owner = owner;
    *data = s + 1;
    return 0;
}

static int pmdk_status(void)
{
    return errno == ENOMEM ? PMO_ENOMEM : PMO_ETXFAIL;
}

int snap(void *p, size_t size)
{
    if (pmemobj_tx_xadd_range_direct(p, size, POBJ_XADD_NO_ABORT) != 0)
        return pmo_fail_pmdk(pmdk_status(), "snapshot");
    return 0;
}

/* Register memory written without a snapshot (past a length) so commit
 * flushes it. */
int touch(void *p, size_t size)
{
    if (pmemobj_tx_xadd_range_direct(p, size,
            POBJ_XADD_NO_SNAPSHOT | POBJ_XADD_NO_ABORT) != 0)
        return pmo_fail_pmdk(pmdk_status(), "flush range");
    return 0;
}

int tx_alloc(pmo_pool *h, uint64_t size, uint64_t type_num, int zero,
             uint64_t *off)
{
    uint64_t flags = POBJ_XALLOC_NO_ABORT | (zero ? POBJ_XALLOC_ZERO : 0);
    if (size == 0 || size > PMEMOBJ_MAX_ALLOC_SIZE)
        return pmo_fail(PMO_ENOMEM, "cannot allocate %llu bytes",
                        (unsigned long long)size);
    PMEMoid oid = pmemobj_tx_xalloc(size, type_num, flags);
    if (OID_IS_NULL(oid))
        return pmo_fail_pmdk(pmdk_status(), "allocation");
    (void)h;
    *off = oid.off;
    return 0;
}

int tx_free(pmo_pool *h, uint64_t off)
{
    PMEMoid oid = {h->uuid_lo, off};
    if (pmemobj_tx_xfree(oid, POBJ_XFREE_NO_ABORT) != 0)
        return pmo_fail_pmdk(pmdk_status(), "free");
    return 0;
}

/* -- raw memory for Python-defined types --------------------------------------- */

static int raw_oid_ok(pmo_pool *h, uint64_t off)
{
    if (!off_ok(h, off, 8))
        return pmo_fail(PMO_EINVAL, "oid offset %llu is not inside the pool",
                        (unsigned long long)off);
    return 0;
}

int64_t pmo_alloc(pmo_pool *h, uint64_t size, uint64_t type_num, int zero)
{
    int st = need_tx(h);
    if (st)
        return st;
    uint64_t off = 0;
    st = tx_alloc(h, size, type_num, zero, &off);
    if (st <= PMO_EFAIL)
        pmemobj_tx_abort(ECANCELED);
    pthread_mutex_unlock(&h->lock);
    return st ? st : (int64_t)off;
}

int64_t pmo_realloc(pmo_pool *h, uint64_t off, uint64_t size, int zero)
{
    int st = need_tx(h);
    if (st)
        return st;
    st = raw_oid_ok(h, off);
    PMEMoid oid = {h->uuid_lo, off};
    if (!st && size == 0)
        st = pmo_fail(PMO_EINVAL, "realloc to zero bytes; use free");
    if (!st) {
        uint64_t tn = pmemobj_type_num(oid);
        PMEMoid n = zero ? pmemobj_tx_zrealloc(oid, size, tn)
                         : pmemobj_tx_realloc(oid, size, tn);
        if (OID_IS_NULL(n)) {
            st = pmo_fail_pmdk(pmdk_status(), "realloc");
            pmemobj_tx_abort(ECANCELED);
        } else {
            off = n.off;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return st ? st : (int64_t)off;
}

int pmo_free(pmo_pool *h, uint64_t off)
{
    int st = need_tx(h);
    if (st)
        return st;
    st = raw_oid_ok(h, off);
    if (!st)
        st = tx_free(h, off);
    if (st <= PMO_EFAIL)
        pmemobj_tx_abort(ECANCELED);
    pthread_mutex_unlock(&h->lock);
    return st;
}

void *pmo_direct(pmo_pool *h, uint64_t off)
{
    if (read_enter(h))
        return NULL;
    void *p = off_ok(h, off, 8) ? P(h, off) : NULL;
    if (p == NULL)
        pmo_fail(PMO_EINVAL, "oid offset %llu is not inside the pool",
                 (unsigned long long)off);
    read_leave(h);
    return p;
}

int pmo_snapshot(pmo_pool *h, void *ptr, uint64_t size)
{
    int st = need_tx(h);
    if (st)
        return st;
    uint64_t off = (uint64_t)((char *)ptr - (char *)h->pop);
    if ((char *)ptr < (char *)h->pop || !off_ok(h, off & ~7ULL, size))
        st = pmo_fail(PMO_EINVAL, "range is not inside the pool");
    else
        st = snap(ptr, size);
    if (st <= PMO_EFAIL)
        pmemobj_tx_abort(ECANCELED);
    pthread_mutex_unlock(&h->lock);
    return st;
}

int64_t pmo_type_num(pmo_pool *h, uint64_t off)
{
    int st = read_enter(h);
    if (st)
        return st;
    st = raw_oid_ok(h, off);
    int64_t r = st ? st : (int64_t)pmemobj_type_num((PMEMoid){h->uuid_lo, off});
    read_leave(h);
    return r;
}
