/*
 * list.c -- PersistentList storage: a length, a capacity and a slot array.
 *
 * Growing allocates a new array (fresh memory needs no snapshot) and frees
 * the old one when the transaction commits.  Slots past the length are
 * written without a snapshot: an abort restores the length, which hides
 * them again.
 */
#include <stdlib.h>

#include "core.h"

/* Find the list at off and its slot array; 0 or a status. */
static int list_at(pmo_pool *h, uint64_t off, struct pmo_list **lp,
                   pmo_slot **items)
{
    struct pmo_hdr *hd = hdr_at(h, off);
    if (hd == NULL || hd->layout != PMO_L_LIST ||
        !off_ok(h, off, sizeof(struct pmo_list)))
        return pmo_fail(PMO_EINVAL, "not a list");
    struct pmo_list *l = (struct pmo_list *)hd;
    *items = l->items && l->len <= l->cap
        ? sub_data(h, l->items, l->cap * sizeof(pmo_slot), off) : NULL;
    if (l->items ? *items == NULL : l->len != 0)
        return pmo_fail(PMO_ECORRUPT, "list at offset %llu is damaged",
                        (unsigned long long)off);
    *lp = l;
    return 0;
}

static int grow(pmo_pool *h, struct pmo_list *l, pmo_slot **items,
                uint64_t need)
{
    if (need <= l->cap)
        return 0;
    /* powers of two: few size classes; see sub_round */
    uint64_t cap = l->cap ? l->cap : 4;
    while (cap < need)
        cap *= 2;
    cap = sub_round(cap * sizeof(pmo_slot)) / sizeof(pmo_slot);
    uint64_t noff;
    void *data;
    int st = sub_alloc(h, cap * sizeof(pmo_slot), PMO_TN_LIST_ITEMS, OFF(h, l),
                       &noff, &data);
    if (st)
        return st;
    if (l->len)
        memcpy(data, *items, l->len * sizeof(pmo_slot));
    uint64_t old = l->items;
    if ((st = snap(&l->len, 3 * sizeof(uint64_t))) != 0)
        return st;
    l->cap = cap;
    l->items = noff;
    *items = data;
    return old ? tx_free(h, old) : 0;
}

/* Give memory back after deletions: an empty list frees its array, a
 * list down to a quarter of its capacity moves to a smaller one.  The
 * header is snapshotted by the caller. */
static int shrink(pmo_pool *h, struct pmo_list *l, pmo_slot *items)
{
    uint64_t old = l->items;
    if (l->len == 0) {
        l->items = 0;
        l->cap = 0;
        return tx_free(h, old);
    }
    if (l->cap <= 64 || l->len > l->cap / 4)
        return 0;
    uint64_t cap = 8;
    while (cap < 2 * l->len)
        cap *= 2;
    cap = sub_round(cap * sizeof(pmo_slot)) / sizeof(pmo_slot);
    if (cap >= l->cap)
        return 0;
    uint64_t noff;
    void *data;
    int st = sub_alloc(h, cap * sizeof(pmo_slot), PMO_TN_LIST_ITEMS, OFF(h, l),
                       &noff, &data);
    if (st)
        return st == PMO_ENOMEM ? 0 : st;   /* no room to move: keep it */
    memcpy(data, items, l->len * sizeof(pmo_slot));
    l->items = noff;
    l->cap = cap;
    return tx_free(h, old);
}

pmo_out pmo_list_get(pmo_pool *h, uint64_t off, int64_t idx)
{
    pmo_out o;
    memset(&o, 0, sizeof(o));
    if ((o.status = read_enter(h)) != 0)
        return o;
    pmo_slot *items;
    struct pmo_list *l;
    if ((o.status = list_at(h, off, &l, &items)) == 0) {
        if (idx < 0)
            idx += (int64_t)l->len;
        if (idx < 0 || (uint64_t)idx >= l->len)
            o.status = pmo_fail(PMO_EINDEX, "list index out of range");
        else
            o = out_slot(h, &items[idx]);
    }
    read_leave(h);
    return o;
}

int pmo_list_set(pmo_pool *h, uint64_t off, int64_t idx, uint64_t kind,
                 int64_t i, double f, const char *data, size_t n)
{
    pmo_in in = {kind, i, f, data, n};
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    pmo_slot *items, s;
    struct pmo_list *l;
    if ((st = list_at(h, off, &l, &items)) != 0)
        goto out;
    if (idx < 0)
        idx += (int64_t)l->len;
    if (idx < 0 || (uint64_t)idx >= l->len) {
        st = pmo_fail(PMO_EINDEX, "list assignment index out of range");
        goto out;
    }
    /* the new value gains its count before the old one loses its own, so
     * storing an item over itself never frees it */
    if ((st = check_in(h, &in)) == 0 &&
        (st = store_value(h, &in, &s)) == 0 &&
        (st = snap(&items[idx], sizeof(pmo_slot))) == 0) {
        pmo_slot old = items[idx];
        items[idx] = s;
        st = drop_slot(h, &old);
    }
out:
    return op_leave(h, own, st);
}

static int list_insert(pmo_pool *h, uint64_t off, int64_t idx, const pmo_in *in)
{
    pmo_slot *items, s;
    struct pmo_list *l;
    int st = list_at(h, off, &l, &items);
    if (st)
        return st;
    int64_t len = (int64_t)l->len;
    if (idx < 0)
        idx = idx + len < 0 ? 0 : idx + len;
    if (idx > len)
        idx = len;
    if ((st = check_in(h, in)) != 0 ||
        (st = grow(h, l, &items, l->len + 1)) != 0 ||
        (st = store_value(h, in, &s)) != 0)
        return st;
    if (idx < len &&
        (st = snap(&items[idx], (size_t)(len - idx) * sizeof(pmo_slot))) != 0)
        return st;
    if ((st = touch(&items[len], sizeof(pmo_slot))) != 0 ||
        (st = snap(&l->len, sizeof(l->len))) != 0)
        return st;
    memmove(&items[idx + 1], &items[idx], (size_t)(len - idx) * sizeof(pmo_slot));
    items[idx] = s;
    l->len++;
    return 0;
}

int pmo_list_insert(pmo_pool *h, uint64_t off, int64_t idx, uint64_t kind,
                    int64_t i, double f, const char *data, size_t n)
{
    pmo_in in = {kind, i, f, data, n};
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    return op_leave(h, own, list_insert(h, off, idx, &in));
}

int pmo_list_append(pmo_pool *h, uint64_t off, uint64_t kind, int64_t i,
                    double f, const char *data, size_t n)
{
    return pmo_list_insert(h, off, INT64_MAX, kind, i, f, data, n);
}

/* Append and count the change in an int under a str key of a dict, as one
 * step (a versioned append). */
int pmo_list_append_counted(pmo_pool *h, uint64_t off, uint64_t kind, int64_t i,
                            double f, const char *data, size_t n,
                            pmo_counter *c)
{
    pmo_in in = {kind, i, f, data, n};
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    if ((st = list_insert(h, off, INT64_MAX, &in)) == 0)
        st = count_change(h, own, c);
    return op_leave(h, own, st);
}

/* Delete items [start, stop) after clamping them like a slice. */
int pmo_list_delete(pmo_pool *h, uint64_t off, int64_t start, int64_t stop)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    pmo_slot *items;
    struct pmo_list *l;
    if ((st = list_at(h, off, &l, &items)) != 0)
        goto out;
    int64_t len = (int64_t)l->len;
    if (start < 0)
        start = 0;
    if (stop > len)
        stop = len;
    if (start >= stop)
        goto out;
    /* dropped slots are snapshotted even when nothing moves: a later append
     * in the same transaction writes past the length without a snapshot */
    if ((st = snap(&items[start], (size_t)(len - start) * sizeof(pmo_slot))) != 0 ||
        (st = snap(&l->len, 3 * sizeof(uint64_t))) != 0)
        goto out;
    for (int64_t k = start; k < stop && !st; k++)
        st = drop_slot(h, &items[k]);
    if (st)
        goto out;
    memmove(&items[start], &items[stop], (size_t)(len - stop) * sizeof(pmo_slot));
    l->len -= (uint64_t)(stop - start);
    st = shrink(h, l, items);
out:
    return op_leave(h, own, st);
}

int pmo_list_reserve(pmo_pool *h, uint64_t off, uint64_t cap)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    pmo_slot *items;
    struct pmo_list *l;
    if ((st = list_at(h, off, &l, &items)) == 0)
        st = grow(h, l, &items, cap);
    return op_leave(h, own, st);
}

/* Reorder the items: new item i is old item perm[i].  Counts are
 * unchanged, so sort and reverse never allocate. */
int pmo_list_permute(pmo_pool *h, uint64_t off, const int64_t *perm,
                     uint64_t n)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    pmo_slot *items, *copy = NULL;
    char *seen = NULL;
    struct pmo_list *l;
    if ((st = list_at(h, off, &l, &items)) != 0)
        goto out;
    if (n != l->len) {
        st = pmo_fail(PMO_EINVAL, "permutation length differs from the list");
        goto out;
    }
    if (n == 0)
        goto out;
    seen = calloc(n, 1);
    copy = malloc(n * sizeof(pmo_slot));
    if (seen == NULL || copy == NULL) {
        st = pmo_fail(PMO_EINVAL, "out of memory for a permutation");
        goto out;
    }
    for (uint64_t k = 0; k < n; k++) {
        if (perm[k] < 0 || (uint64_t)perm[k] >= n || seen[perm[k]]) {
            st = pmo_fail(PMO_EINVAL, "not a permutation");
            goto out;
        }
        seen[perm[k]] = 1;
    }
    if ((st = snap(items, n * sizeof(pmo_slot))) != 0)
        goto out;
    memcpy(copy, items, n * sizeof(pmo_slot));
    for (uint64_t k = 0; k < n; k++)
        items[k] = copy[perm[k]];
out:
    free(seen);
    free(copy);
    return op_leave(h, own, st);
}
