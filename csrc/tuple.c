/*
 * tuple.c -- tuples, frozensets, boxes and PersistentTuples: fixed arrays
 * of slots, written once each after the allocation.
 */
#include "core.h"

/* A zeroed tuple-layout object of n empty slots, count zero. */
int new_tuple(pmo_pool *h, uint32_t type, uint64_t n, int64_t hash,
              uint64_t *off)
{
    int st = tx_alloc(h, sizeof(struct pmo_tuple) + n * sizeof(pmo_slot),
                      PMO_TN_POBJECT, 1, off);
    if (st == 0) {
        struct pmo_tuple *t = P(h, *off);
        init_hdr(&t->hdr, type, PMO_L_TUPLE, 0);
        t->n = n;
        t->hash = hash;
    }
    return st;
}

int64_t pmo_tuple_new(pmo_pool *h, uint32_t type, uint64_t n, int64_t hash)
{
    if (type == 0 || n > (PMEMOBJ_MAX_ALLOC_SIZE / sizeof(pmo_slot)))
        return pmo_fail(PMO_EINVAL, "bad tuple type or size");
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    uint64_t off = 0;
    st = op_leave(h, own, new_tuple(h, type, n, hash, &off));
    return st < 0 ? st : (int64_t)off;
}

static struct pmo_tuple *tuple_at(pmo_pool *h, uint64_t off)
{
    struct pmo_hdr *hd = hdr_at(h, off);
    if (hd == NULL || hd->layout != PMO_L_TUPLE)
        return NULL;
    struct pmo_tuple *t = (struct pmo_tuple *)hd;
    if (!off_ok(h, off, sizeof(*t)) ||
        t->n > (h->limit - off - sizeof(*t)) / sizeof(pmo_slot))
        return NULL;
    return t;
}

int pmo_tuple_init(pmo_pool *h, uint64_t off, uint64_t idx, uint64_t kind,
                   int64_t i, double f, const char *data, size_t n)
{
    pmo_in in = {kind, i, f, data, n};
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    struct pmo_tuple *t = tuple_at(h, off);
    if (t == NULL)
        st = pmo_fail(PMO_EINVAL, "not a tuple");
    else if (idx >= t->n || t->items[idx].kind != PMO_K_EMPTY)
        st = pmo_fail(PMO_EINVAL, "tuple item %llu is set already or out "
                      "of range", (unsigned long long)idx);
    else if ((st = check_in(h, &in)) == 0 &&
             (st = snap(&t->items[idx], sizeof(pmo_slot))) == 0)
        st = store_value(h, &in, &t->items[idx]);
    return op_leave(h, own, st);
}

pmo_out pmo_tuple_get(pmo_pool *h, uint64_t off, int64_t idx)
{
    pmo_out o;
    memset(&o, 0, sizeof(o));
    if ((o.status = read_enter(h)) != 0)
        return o;
    struct pmo_tuple *t = tuple_at(h, off);
    if (t == NULL) {
        o.status = pmo_fail(PMO_EINVAL, "not a tuple");
    } else {
        if (idx < 0)
            idx += (int64_t)t->n;
        if (idx < 0 || (uint64_t)idx >= t->n)
            o.status = pmo_fail(PMO_EINDEX, "tuple index out of range");
        else
            o = out_slot(h, &t->items[idx]);
    }
    read_leave(h);
    return o;
}
