/*
 * stats.c -- what a pool holds: allocations, bytes, PObjects by type, and
 * the layout version of its root structure.
 *
 * The counts walk every allocation (pmemobj_first/next) under the handle's
 * lock; nothing here changes the pool.
 */
#include "core.h"

/* objects, bytes in use, PObjects, mapped limit */
int pmo_stats(pmo_pool *h, uint64_t *out4)
{
    int st = read_enter(h);
    if (st)
        return st;
    uint64_t n = 0, bytes = 0, pobjects = 0;
    for (PMEMoid o = pmemobj_first(h->pop); !OID_IS_NULL(o);
         o = pmemobj_next(o)) {
        n++;
        bytes += pmemobj_alloc_usable_size(o);
        if (pmemobj_type_num(o) == PMO_TN_POBJECT)
            pobjects++;
    }
    out4[0] = n;
    out4[1] = bytes;
    out4[2] = pobjects;
    out4[3] = h->limit;
    read_leave(h);
    return 0;
}

uint64_t pmo_layout_version(pmo_pool *h)
{
    if (read_enter(h))
        return 0;
    uint64_t v = h->root->version;
    read_leave(h);
    return v;
}

/* PObjects by type code: triples (type, count, bytes) into out, at most
 * max triples; returns how many types there are. */
int64_t pmo_type_histogram(pmo_pool *h, uint64_t *out, uint64_t max)
{
    int st = read_enter(h);
    if (st)
        return st;
    uint64_t n = 0;
    for (PMEMoid o = pmemobj_first(h->pop); !OID_IS_NULL(o);
         o = pmemobj_next(o)) {
        if (pmemobj_type_num(o) != PMO_TN_POBJECT)
            continue;
        uint64_t type = ((struct pmo_hdr *)P(h, o.off))->type, k;
        for (k = 0; k < n && k < max && out[3 * k] != type; k++)
            ;
        if (k == n) {
            n++;
            if (k < max) {
                out[3 * k] = type;
                out[3 * k + 1] = out[3 * k + 2] = 0;
            }
        }
        if (k < max) {
            out[3 * k + 1]++;
            out[3 * k + 2] += pmemobj_alloc_usable_size(o);
        }
    }
    read_leave(h);
    return (int64_t)n;
}
