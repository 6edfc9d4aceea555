/*
 * zct.c -- the zero-count table: objects whose count dropped to zero while
 * Python may still hold them.
 *
 * A growable array of offsets in a substructure that the root points at
 * (zct, zct_len, zct_cap).  Python reads it, frees what it no longer
 * holds and removes the entries; the collector empties and refills it.
 * Every reader and writer goes through zct_array, which checks it.
 */
#include "core.h"

/* The table's array into *a, NULL while none was allocated; 0, or
 * PMO_ECORRUPT if the root's fields do not lead to a table: a length past
 * the capacity, or a capacity without its array. */
int zct_array(pmo_pool *h, uint64_t **a)
{
    struct pmo_root *r = h->root;
    *a = NULL;
    if (r->zct_cap == 0 && r->zct_len == 0)
        return 0;
    if (r->zct_len <= r->zct_cap && r->zct_cap <= h->limit / 8 &&
        (*a = sub_data(h, r->zct, r->zct_cap * 8, 0)) != NULL)
        return 0;
    return pmo_fail(PMO_ECORRUPT, "zero-count table is damaged");
}

int zct_push(pmo_pool *h, uint64_t off)
{
    struct pmo_root *r = h->root;
    uint64_t *a;
    int st = zct_array(h, &a);
    if (st)
        return st;
    if (r->zct_len == r->zct_cap) {
        uint64_t cap = r->zct_cap ? r->zct_cap * 2 : 64, noff;
        void *na;
        if ((st = sub_alloc(h, cap * 8, PMO_TN_ZCT, 0, &noff, &na)) != 0) {
            if (st != PMO_ENOMEM)
                return st;
            /* a full pool must still let objects be dropped: leave this one
             * for the collector, which the flag asks for at close or open */
            if ((st = snap(&r->gc_needed, 8)) != 0)
                return st;
            r->gc_needed = 1;
            return 0;
        }
        if (r->zct_len)
            memcpy(na, a, r->zct_len * 8);
        a = na;
        uint64_t old = r->zct;
        if ((st = snap(&r->zct, 24)) != 0)
            return st;
        r->zct = noff;
        r->zct_cap = cap;
        if (old && (st = tx_free(h, old)) != 0)
            return st;
    }
    if ((st = touch(&a[r->zct_len], 8)) != 0 ||
        (st = snap(&r->zct_len, 8)) != 0)
        return st;
    a[r->zct_len++] = off;
    h->pushed = 1;
    return 0;
}

int pmo_gc_needed(pmo_pool *h)
{
    return pmo_is_open(h) && h->root ? (int)h->root->gc_needed : 0;
}

/* Copy up to max entries of the zero-count table; returns how many it
 * holds. */
int64_t pmo_zct_read(pmo_pool *h, uint64_t start, uint64_t *buf, uint64_t max)
{
    int st = read_enter(h);
    if (st)
        return st;
    uint64_t n = h->root->zct_len, *a;
    int64_t r = (st = zct_array(h, &a)) != 0 ? st : (int64_t)n;
    if (r > 0 && start < n)
        memcpy(buf, a + start, (n - start < max ? n - start : max) * 8);
    read_leave(h);
    return r;
}

/* Remove every entry for off (order does not matter); returns how many
 * there were. */
int pmo_zct_remove(pmo_pool *h, uint64_t off)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    if (pinned(h, off))
        return op_leave(h, own, 0);   /* a reader was just handed it: later */
    struct pmo_root *r = h->root;
    uint64_t *a;
    int removed = 0;
    if ((st = zct_array(h, &a)) == 0) {
        for (uint64_t k = r->zct_len; k-- > 0 && !st;) {
            if (a[k] != off)
                continue;
            /* the last slot too: a later push in this transaction writes
             * past the length without a snapshot */
            if ((st = snap(&a[k], 8)) == 0 &&
                (st = snap(&a[r->zct_len - 1], 8)) == 0 &&
                (st = snap(&r->zct_len, 8)) == 0) {
                a[k] = a[--r->zct_len];
                removed++;
            }
        }
    }
    st = op_leave(h, own, st);
    return st < 0 ? st : removed;
}

int pmo_zct_push(pmo_pool *h, uint64_t off)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    st = hdr_at(h, off) ? zct_push(h, off) : corrupt_ref(off);
    return op_leave(h, own, st);
}
