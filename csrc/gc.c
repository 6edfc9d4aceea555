/*
 * gc.c -- mark and sweep over the whole pool.
 *
 * Marking starts at the pool root (and at objects Python still holds);
 * objects of C-known layouts are traversed here, Python-defined ones are
 * queued for Python to traverse and report back.  Sweeping walks every
 * allocation with pmemobj_first/next: unmarked ones are freed and reference
 * counts are set to the references found, in transactions of a few dozen
 * changes (see pmo_gc_sweep for what a crash in between leaves).
 */
#include <stdlib.h>

#include "core.h"

enum { M_OBJ = 1, M_SUB = 2, M_SEEN = 4 };

struct mark {
    uint64_t off;
    uint32_t count;
    uint32_t flags;
};

struct vec {
    uint64_t *a;
    uint64_t n, cap;
};

struct gc_state {
    struct mark *tab;
    uint64_t cap, n;
    struct vec stack, opaque;
    int oom;
};

static int vec_push(struct vec *v, uint64_t x)
{
    if (v->n == v->cap) {
        uint64_t cap = v->cap ? v->cap * 2 : 256;
        uint64_t *a = realloc(v->a, cap * sizeof(*a));
        if (a == NULL)
            return -1;
        v->a = a;
        v->cap = cap;
    }
    v->a[v->n++] = x;
    return 0;
}

static uint64_t slot_of(uint64_t off, uint64_t cap)
{
    uint64_t x = off * 0x9e3779b97f4a7c15ULL;
    return (x ^ (x >> 29)) & (cap - 1);
}

static int grow_table(struct gc_state *g)
{
    uint64_t cap = g->cap ? g->cap * 2 : 4096;
    struct mark *t = calloc(cap, sizeof(*t));
    if (t == NULL)
        return -1;
    for (uint64_t k = 0; k < g->cap; k++) {
        if (g->tab[k].off == 0)
            continue;
        uint64_t i = slot_of(g->tab[k].off, cap);
        while (t[i].off)
            i = (i + 1) & (cap - 1);
        t[i] = g->tab[k];
    }
    free(g->tab);
    g->tab = t;
    g->cap = cap;
    return 0;
}

static struct mark *find(struct gc_state *g, uint64_t off, int create)
{
    if (g->cap == 0) {
        if (!create || grow_table(g))
            return NULL;
    }
    uint64_t i = slot_of(off, g->cap);
    while (g->tab[i].off) {
        if (g->tab[i].off == off)
            return &g->tab[i];
        i = (i + 1) & (g->cap - 1);
    }
    if (!create)
        return NULL;
    if ((g->n + 1) * 2 > g->cap) {
        if (grow_table(g))
            return NULL;
        return find(g, off, create);
    }
    g->n++;
    g->tab[i].off = off;
    return &g->tab[i];
}

void gc_free_state(pmo_pool *h)
{
    struct gc_state *g = h->gc;
    if (g == NULL)
        return;
    free(g->tab);
    free(g->stack.a);
    free(g->opaque.a);
    free(g);
    h->gc = NULL;
}

static void mark_ref(struct gc_state *g, uint64_t off, int counted)
{
    struct mark *m = find(g, off, 1);
    if (m == NULL) {
        g->oom = 1;
        return;
    }
    if (counted)
        m->count++;
    if (!(m->flags & M_OBJ)) {
        m->flags |= M_OBJ;
        if (vec_push(&g->stack, off))
            g->oom = 1;
    }
}

static void mark_sub(struct gc_state *g, uint64_t off)
{
    struct mark *m = find(g, off, 1);
    if (m == NULL)
        g->oom = 1;
    else
        m->flags |= M_SUB;
}

static int visit_ref(pmo_pool *h, pmo_slot *s, void *arg)
{
    (void)h;
    if (s->kind == PMO_K_REF)
        mark_ref(arg, s->bits, 1);
    return 0;
}

static int visit_sub(pmo_pool *h, uint64_t off, void *arg)
{
    (void)h;
    mark_sub(arg, off);
    return 0;
}

/* Traverse everything reachable from the marks pushed so far. */
static int drain(pmo_pool *h, struct gc_state *g)
{
    while (g->stack.n) {
        uint64_t off = g->stack.a[--g->stack.n];
        if (hdr_at(h, off) == NULL)
            continue;   /* dangling: pmo_check reports it */
        int st = traverse(h, off, visit_ref, visit_sub, g);
        if (st == PMO_EOPAQUE) {
            if (vec_push(&g->opaque, off))
                g->oom = 1;
        } else if (st) {
            return st;
        }
    }
    return g->oom ? pmo_fail(PMO_EINVAL, "out of memory while marking") : 0;
}

static int gc_lock(pmo_pool *h)
{
    int st = read_enter(h);
    if (st == 0 && h->gc == NULL) {
        read_leave(h);
        return pmo_fail(PMO_EINVAL, "no collection is running");
    }
    return st;
}

struct pin_visit { pmo_pool *h; struct gc_state *g; };

/* An object a reader was just handed counts as held by Python. */
static void mark_pinned(uint64_t off, void *arg)
{
    struct pin_visit *v = arg;
    if (hdr_at(v->h, off) != NULL)
        mark_ref(v->g, off, 0);
}

int pmo_gc_begin(pmo_pool *h)
{
    int st = read_enter(h);
    if (st)
        return st;
    gc_free_state(h);
    h->gc = calloc(1, sizeof(struct gc_state));
    if (h->gc == NULL) {
        read_leave(h);
        return pmo_fail(PMO_EINVAL, "out of memory for the collector");
    }
    struct pmo_root *r = h->root;
    visit_ref(h, &r->user_root, h->gc);
    visit_ref(h, &r->types, h->gc);
    if (r->zct)
        mark_sub(h->gc, r->zct);
    struct pin_visit v = {h, h->gc};
    pins_visit(h, mark_pinned, &v);
    st = drain(h, h->gc);
    read_leave(h);
    return st;
}

/* mode 0: a substructure; 1: a stored reference; 2: held by Python only */
int pmo_gc_mark(pmo_pool *h, uint64_t off, int mode)
{
    int st = gc_lock(h);
    if (st)
        return st;
    if (mode == 0)
        mark_sub(h->gc, off);
    else if (hdr_at(h, off) != NULL)
        mark_ref(h->gc, off, mode == 1);
    st = drain(h, h->gc);
    read_leave(h);
    return st;
}

/* Count the zero-count table's objects as held (not as stored references):
 * for checking a pool that is not collected first. */
int pmo_gc_mark_zct(pmo_pool *h)
{
    int st = gc_lock(h);
    if (st)
        return st;
    struct pmo_root *r = h->root;
    uint64_t *a;
    if ((st = zct_array(h, &a)) == 0) {
        for (uint64_t k = 0; k < r->zct_len; k++) {
            struct pmo_hdr *hd = hdr_at(h, a[k]);
            if (hd != NULL && hd->refcnt == 0)   /* others are stale entries */
                mark_ref(h->gc, a[k], 0);
        }
        st = drain(h, h->gc);
    }
    read_leave(h);
    return st;
}

int64_t pmo_gc_next_opaque(pmo_pool *h)
{
    int st = gc_lock(h);
    if (st)
        return st;
    struct vec *q = &h->gc->opaque;
    int64_t off = q->n ? (int64_t)q->a[--q->n] : 0;
    read_leave(h);
    return off;
}

/* Changes per transaction while sweeping.  A full pool has no room to
 * grow its logs: freeing thousands of objects in one transaction failed
 * there, and as an open retries the collection, the pool could not be
 * opened again. */
#define SWEEP_BATCH 64

/* Free what is not marked and set reference counts to the references
 * found.  In a transaction of its own (not joining the caller's), it
 * commits every SWEEP_BATCH changes; the first commit empties the
 * zero-count table and flags the pool as needing a collection, so a crash
 * in between leaves no table entry naming a freed object, and the next
 * open finishes the sweep.  The last step refills the table with the
 * objects only Python holds and clears the flag. */
int pmo_gc_sweep(pmo_pool *h, uint64_t *stats4)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    struct gc_state *g = h->gc;
    if (g == NULL)
        return op_leave(h, own, pmo_fail(PMO_EINVAL, "no collection is running"));
    memset(stats4, 0, 4 * sizeof(uint64_t));
    struct pmo_root *r = h->root;
    uint64_t *zct, zct_len = r->zct_len;
    int reset_committed = 0, changes = 0;
    st = zct_array(h, &zct);
    if (!st && (st = snap(&r->zct_len, 8)) == 0 && (st = snap(&r->gc_needed, 8)) == 0) {
        r->zct_len = 0;
        r->gc_needed = 1;
    }
    PMEMoid o = st ? OID_NULL : pmemobj_first(h->pop);
    while (!OID_IS_NULL(o)) {
        PMEMoid next = pmemobj_next(o);   /* (a free takes effect at commit) */
        struct mark *m = find(g, o.off, 0);
        int pobject = pmemobj_type_num(o) == PMO_TN_POBJECT, done = 1;
        if (m == NULL) {
            if ((st = tx_free(h, o.off)) == 0)
                stats4[pobject ? 1 : 2]++;
        } else if (pobject && (m->flags & M_OBJ)) {
            struct pmo_hdr *hd = P(h, o.off);
            if (hd->refcnt == m->count)
                done = 0;
            else if ((st = snap(&hd->refcnt, 8)) == 0) {
                hd->refcnt = m->count;
                stats4[3]++;
            }
        } else {
            done = 0;
        }
        if (st == PMO_ENOMEM && own && changes) {
            /* no room to log one more change: commit, then retry it */
            st = 0;
            changes = SWEEP_BATCH;
        } else if (st) {
            break;
        } else {
            stats4[0]++;
            changes += done;
            o = next;
        }
        if (own && changes >= SWEEP_BATCH) {
            /* commit what is freed so far: a full pool gains room as it goes */
            st = op_leave(h, own, 0);
            if (st == PMO_OK || st == PMO_COLLECT)
                st = op_enter(h, &own);
            if (st) {
                gc_free_state(h);
                return st;
            }
            reset_committed = 1;
            changes = 0;
        }
    }
    /* objects only Python holds wait in the table again; while the reset
     * is not committed, the pushes overwrite entries an abort must restore */
    if (!st && !reset_committed && zct_len)
        st = snap(zct, zct_len * 8);
    if (!st && reset_committed)
        st = snap(&r->gc_needed, 8);   /* the first snapshot was committed */
    if (!st)
        r->gc_needed = 0;
    for (uint64_t k = 0; k < g->cap && !st; k++)
        if ((g->tab[k].flags & M_OBJ) && g->tab[k].count == 0)
            st = zct_push(h, g->tab[k].off);
    gc_free_state(h);
    st = op_leave(h, own, st);
    return st == PMO_COLLECT ? PMO_OK : st;
}

/* After marking: objects, unreachable ones, wrong counts, dangling refs. */
int pmo_check(pmo_pool *h, uint64_t *stats4)
{
    int st = gc_lock(h);
    if (st)
        return st;
    struct gc_state *g = h->gc;
    memset(stats4, 0, 4 * sizeof(uint64_t));
    for (PMEMoid o = pmemobj_first(h->pop); !OID_IS_NULL(o);
         o = pmemobj_next(o)) {
        stats4[0]++;
        struct mark *m = find(g, o.off, 0);
        if (m == NULL) {
            stats4[1]++;
            continue;
        }
        m->flags |= M_SEEN;
        if ((m->flags & M_OBJ) && pmemobj_type_num(o) == PMO_TN_POBJECT &&
            ((struct pmo_hdr *)P(h, o.off))->refcnt != m->count)
            stats4[2]++;
    }
    for (uint64_t k = 0; k < g->cap; k++)
        if ((g->tab[k].flags & M_OBJ) && !(g->tab[k].flags & M_SEEN))
            stats4[3]++;
    gc_free_state(h);
    read_leave(h);
    return 0;
}

void pmo_gc_end(pmo_pool *h)
{
    pthread_mutex_lock(&h->lock);
    gc_free_state(h);
    pthread_mutex_unlock(&h->lock);
}
