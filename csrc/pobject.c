/*
 * pobject.c -- PObjects: headers, reference counts, traversal and freeing,
 * and the entry points that work on any object.
 *
 * A count that drops to zero frees an immutable value at once (nothing
 * but its one owner can reach it).  A container goes to the zero-count
 * table instead: a Python wrapper may still hold it, and Python decides
 * when it is really garbage.  The header check (hdr_at) is in core.h.
 */
#include "core.h"

/* -- headers ------------------------------------------------------------------ */

void init_hdr(struct pmo_hdr *hd, uint32_t type, uint32_t layout,
              uint64_t refcnt)
{
    hd->refcnt = refcnt;
    hd->type = type;
    hd->layout = (uint16_t)layout;
    hd->magic = PMO_HDR_MAGIC;
}

int corrupt_ref(uint64_t off)
{
    return pmo_fail(PMO_ECORRUPT, "reference to offset %llu does not point "
                    "at an object", (unsigned long long)off);
}

static int release(pmo_pool *h, uint64_t off);

/* -- reference counts ----------------------------------------------------------- */

int incref(pmo_pool *h, uint64_t off)
{
    struct pmo_hdr *hd = hdr_at(h, off);
    if (hd == NULL)
        return corrupt_ref(off);
    int st = snap(&hd->refcnt, sizeof(hd->refcnt));
    if (st == 0)
        hd->refcnt++;
    return st;
}

int decref(pmo_pool *h, uint64_t off)
{
    struct pmo_hdr *hd = hdr_at(h, off);
    if (hd == NULL)
        return corrupt_ref(off);
    if (hd->refcnt == 0)
        return pmo_fail(PMO_ECORRUPT, "reference count of offset %llu "
                        "would drop below zero", (unsigned long long)off);
    int st = snap(&hd->refcnt, sizeof(hd->refcnt));
    if (st)
        return st;
    if (--hd->refcnt > 0)
        return 0;
    /* an immutable value goes at once, unless a reader was just handed it */
    return hd->type < PMO_T_FIRST_CONTAINER &&
           (hd->layout == PMO_L_BLOB || !pinned(h, off))   /* (blobs go out as copies) */
        ? release(h, off) : zct_push(h, off);
}

/* -- traversal ----------------------------------------------------------------------- */

/* Visit the slots of an object, then its substructures. */
int traverse(pmo_pool *h, uint64_t off, slot_visit vs, sub_visit vsub,
             void *arg)
{
    struct pmo_hdr *hd = hdr_at(h, off);
    if (hd == NULL)
        return corrupt_ref(off);
    int st = 0;
    switch (hd->layout) {
    case PMO_L_BLOB:
        return 0;
    case PMO_L_TUPLE: {
        struct pmo_tuple *t = (struct pmo_tuple *)hd;
        if (!off_ok(h, off, sizeof(*t)) ||
            t->n > (h->limit - off - sizeof(*t)) / sizeof(pmo_slot))
            return corrupt_ref(off);
        for (uint64_t i = 0; i < t->n && !st; i++)
            st = vs(h, &t->items[i], arg);
        return st;
    }
    case PMO_L_LIST: {
        struct pmo_list *l = (struct pmo_list *)hd;
        if (l->items == 0)
            return 0;
        pmo_slot *items = l->len > l->cap ? NULL
            : sub_data(h, l->items, l->cap * sizeof(pmo_slot), off);
        if (items == NULL)
            return corrupt_ref(off);
        for (uint64_t i = 0; i < l->len && !st; i++)
            st = vs(h, &items[i], arg);
        return st ? st : vsub(h, l->items, arg);
    }
    case PMO_L_DICT: {
        struct pmo_dict *d = (struct pmo_dict *)hd;
        if (d->table == 0)
            return 0;
        struct pmo_entry *e = dict_entries(h, d);
        if (e == NULL)
            return corrupt_ref(off);
        for (uint64_t i = 0; i < d->filled && !st; i++) {
            if (e[i].key.kind == PMO_K_EMPTY)
                continue;
            st = vs(h, &e[i].key, arg);
            if (!st)
                st = vs(h, &e[i].value, arg);
        }
        return st ? st : vsub(h, d->table, arg);
    }
    default:
        return PMO_EOPAQUE;
    }
}

static int visit_drop(pmo_pool *h, pmo_slot *s, void *arg)
{
    (void)arg;
    return drop_slot(h, s);
}

static int visit_free(pmo_pool *h, uint64_t off, void *arg)
{
    (void)arg;
    return tx_free(h, off);
}

/* Free an object whose count is zero, dropping what it references. */
static int release(pmo_pool *h, uint64_t off)
{
    struct pmo_hdr *hd = hdr_at(h, off);
    if (hd == NULL)
        return corrupt_ref(off);
    if (hd->layout == PMO_L_OPAQUE)
        return PMO_EOPAQUE;
    int st = traverse(h, off, visit_drop, visit_free, NULL);
    return st ? st : tx_free(h, off);
}

struct collect {
    uint64_t *buf;
    uint64_t max, n;
    int subs;
};

static int collect_ref(pmo_pool *h, pmo_slot *s, void *arg)
{
    (void)h;
    struct collect *c = arg;
    if (!c->subs && s->kind == PMO_K_REF && c->n++ < c->max)
        c->buf[c->n - 1] = s->bits;
    return 0;
}

static int collect_sub(pmo_pool *h, uint64_t off, void *arg)
{
    (void)h;
    struct collect *c = arg;
    if (c->subs && c->n++ < c->max)
        c->buf[c->n - 1] = off;
    return 0;
}

/* The references (subs = 0) or substructures (subs = 1) of an object;
 * returns how many there are, filling at most max. */
int64_t pmo_children(pmo_pool *h, uint64_t off, int subs, uint64_t *buf,
                     uint64_t max)
{
    int st = read_enter(h);
    if (st)
        return st;
    struct collect c = {buf, max, 0, subs};
    st = traverse(h, off, collect_ref, collect_sub, &c);
    read_leave(h);
    return st ? st : (int64_t)c.n;
}

/* Drop what an object references and free its substructures, leaving it
 * empty: the first half of freeing it. */
int pmo_deallocate(pmo_pool *h, uint64_t off)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    struct pmo_hdr *hd = hdr_at(h, off);
    uint64_t body = 0;
    if (hd == NULL)
        st = pmo_fail(PMO_EINVAL, "not a persistent object");
    else if (hd->layout == PMO_L_OPAQUE)
        st = PMO_EOPAQUE;
    else if ((st = traverse(h, off, visit_drop, visit_free, NULL)) == 0)
        body = hd->layout == PMO_L_LIST ? 3 : hd->layout == PMO_L_DICT ? 5
             : hd->layout == PMO_L_TUPLE ? 1 : 0;
    if (st == 0 && body && (st = snap(hd + 1, body * 8)) == 0)
        memset(hd + 1, 0, body * 8);
    return op_leave(h, own, st);
}

/* -- object-level entry points ---------------------------------------------------------- */

static int check_ref(pmo_pool *h, uint64_t off)
{
    int st = read_enter(h);
    if (st)
        return st;
    if (hdr_at(h, off) == NULL ||
        pmemobj_type_num((PMEMoid){h->uuid_lo, off}) != PMO_TN_POBJECT)
        st = pmo_fail(PMO_EINVAL, "no persistent object at offset %llu",
                      (unsigned long long)off);
    read_leave(h);
    return st;
}

pmo_out pmo_ref(pmo_pool *h, uint64_t off)
{
    pmo_out o;
    memset(&o, 0, sizeof(o));
    if ((o.status = check_ref(h, off)) != 0)
        return o;
    if ((o.status = read_enter(h)) != 0)
        return o;
    pmo_slot s = {PMO_K_REF, off};
    o = out_slot(h, &s);
    read_leave(h);
    return o;
}

int64_t pmo_refcount(pmo_pool *h, uint64_t off)
{
    int st = read_enter(h);
    if (st)
        return st;
    struct pmo_hdr *hd = hdr_at(h, off);
    int64_t r = hd ? (int64_t)hd->refcnt : corrupt_ref(off);
    read_leave(h);
    return r;
}

int pmo_incref(pmo_pool *h, uint64_t off)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    st = hdr_at(h, off) ? incref(h, off)
                        : pmo_fail(PMO_EINVAL, "not a persistent object");
    return op_leave(h, own, st);
}

/* Decrement only; the caller releases at zero (Python may need to run
 * _p_deallocate first).  Returns the new count. */
int64_t pmo_decref(pmo_pool *h, uint64_t off)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    struct pmo_hdr *hd = hdr_at(h, off);
    int64_t count = 0;
    if (hd == NULL)
        st = pmo_fail(PMO_EINVAL, "not a persistent object");
    else if (hd->refcnt == 0)
        st = pmo_fail(PMO_EINVAL, "reference count is already zero");
    else if ((st = snap(&hd->refcnt, 8)) == 0)
        count = (int64_t)--hd->refcnt;
    st = op_leave(h, own, st);
    return st < 0 ? st : count;
}

int pmo_release(pmo_pool *h, uint64_t off)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    struct pmo_hdr *hd = hdr_at(h, off);
    if (hd == NULL)
        st = pmo_fail(PMO_EINVAL, "not a persistent object");
    else if (hd->refcnt != 0)
        st = pmo_fail(PMO_EINVAL, "object is still referenced");
    else if (pinned(h, off))
        st = zct_push(h, off);   /* a reader was just handed it: later */
    else if (hd->layout == PMO_L_OPAQUE)
        st = PMO_EOPAQUE;
    else
        st = release(h, off);
    return op_leave(h, own, st);
}

static uint64_t body_size(uint32_t layout, uint64_t asked)
{
    switch (layout) {
    case PMO_L_LIST: return sizeof(struct pmo_list) - PMO_HEADER_SIZE;
    case PMO_L_DICT: return sizeof(struct pmo_dict) - PMO_HEADER_SIZE;
    default: return asked;
    }
}

/* A new zeroed PObject with a count of zero; an empty list or dict for
 * those layouts.  The caller links it or pushes it to the zct. */
int64_t pmo_new_object(pmo_pool *h, uint32_t type, uint32_t layout,
                       uint64_t size)
{
    if (!valid_layout(layout) || layout == PMO_L_BLOB ||
        layout == PMO_L_TUPLE || type == 0)
        return pmo_fail(PMO_EINVAL, "bad type or layout for a new object");
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    uint64_t off = 0;
    st = tx_alloc(h, PMO_HEADER_SIZE + body_size(layout, size),
                  PMO_TN_POBJECT, 1, &off);
    if (st == 0)
        init_hdr(P(h, off), type, layout, 0);
    st = op_leave(h, own, st);
    return st < 0 ? st : (int64_t)off;
}

int64_t pmo_len(pmo_pool *h, uint64_t off)
{
    int st = read_enter(h);
    if (st)
        return st;
    struct pmo_hdr *hd = hdr_at(h, off);
    int64_t n;
    if (hd == NULL)
        n = corrupt_ref(off);
    else if (hd->layout == PMO_L_BLOB)
        n = (int64_t)((struct pmo_blob *)hd)->len;
    else if (hd->layout == PMO_L_TUPLE)
        n = (int64_t)((struct pmo_tuple *)hd)->n;
    else if (hd->layout == PMO_L_LIST)
        n = (int64_t)((struct pmo_list *)hd)->len;
    else if (hd->layout == PMO_L_DICT)
        n = (int64_t)((struct pmo_dict *)hd)->used;
    else
        n = pmo_fail(PMO_EOPAQUE, "object has no length");
    read_leave(h);
    return n;
}
