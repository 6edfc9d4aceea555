/*
 * dict.c -- PersistentDict, PersistentSet and PersistentObject storage.
 *
 * A compact ordered table as in CPython: the table block holds a
 * power-of-two index array and, after it, the entries in insertion order.
 * A deleted entry keeps its place with an EMPTY key until the next resize
 * compacts the entries into a fresh block.
 *
 * Keys compare with Python's semantics: 1, 1.0 and True are one key.  The
 * C side compares None, bools, int64s, floats, str and bytes itself; when
 * a hash matches a key only Python can compare (big int, complex, pickled
 * or user object), it answers PMO_ENEEDCMP and Python takes the slow path.
 *
 * An int under a str key of a dict can serve as a change counter: the
 * *_counted calls of dicts and lists add 1 to it with each change they
 * make, in the same step (versioned writes).
 */
#include <math.h>
#include <stdlib.h>

#include "core.h"

#define ENTRY_SIZE sizeof(struct pmo_entry)

/* The table block: nindex indexes, then cap entries (after its header). */
static inline int64_t *dict_index(pmo_pool *h, struct pmo_dict *d)
{
    return (int64_t *)((struct pmo_sub *)P(h, d->table) + 1);
}

struct pmo_entry *dict_entries(pmo_pool *h, struct pmo_dict *d)
{
    if (d->table == 0 || d->nindex == 0 ||
        (d->nindex & (d->nindex - 1)) != 0 || d->cap >= d->nindex ||
        d->filled > d->cap || d->used > d->filled ||
        d->nindex > h->limit / 8 ||
        !sub_data(h, d->table, d->nindex * 8 + d->cap * ENTRY_SIZE, OFF(h, d)))
        return NULL;
    return (struct pmo_entry *)(dict_index(h, d) + d->nindex);
}

static int dict_at(pmo_pool *h, uint64_t off, struct pmo_dict **dp)
{
    struct pmo_hdr *hd = hdr_at(h, off);
    if (hd == NULL || hd->layout != PMO_L_DICT ||
        !off_ok(h, off, sizeof(struct pmo_dict)))
        return pmo_fail(PMO_EINVAL, "not a dict");
    struct pmo_dict *d = (struct pmo_dict *)hd;
    if (d->table ? dict_entries(h, d) == NULL : d->used || d->filled)
        return pmo_fail(PMO_ECORRUPT, "dict at offset %llu is damaged",
                        (unsigned long long)off);
    *dp = d;
    return 0;
}

/* -- key comparison ----------------------------------------------------------------- */

static int int_eq_double(int64_t i, double f)
{
    if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
        return 0;   /* out of range, or NaN */
    return floor(f) == f && (int64_t)f == i;
}

static int is_number(uint64_t kind)
{
    return kind == PMO_K_BOOL || kind == PMO_K_INT || kind == PMO_K_FLOAT;
}

static int numbers_equal(uint64_t ak, int64_t ai, double af,
                         uint64_t bk, int64_t bi, double bf)
{
    int afl = ak == PMO_K_FLOAT, bfl = bk == PMO_K_FLOAT;
    if (afl && bfl)
        return af == bf;
    if (!afl && !bfl)
        return ai == bi;
    return afl ? int_eq_double(bi, af) : int_eq_double(ai, bf);
}

static int fast_key(uint64_t kind)
{
    return kind == PMO_K_NONE || is_number(kind) ||
           kind == PMO_K_NEW_STR || kind == PMO_K_NEW_BYTES;
}

/* 1 equal, 0 different, -1 only Python can tell (hashes already match). */
static int key_eq(pmo_pool *h, const pmo_slot *s, const pmo_in *k)
{
    uint64_t sk = SLOT_KIND(s->kind);
    if (sk == PMO_K_SSTR || sk == PMO_K_SBYTES)
        return k->kind == (sk == PMO_K_SSTR ? PMO_K_NEW_STR : PMO_K_NEW_BYTES) &&
               SLOT_SHORT_LEN(s->kind) == k->n &&
               memcmp(&s->bits, k->data, k->n) == 0;
    if (s->kind == PMO_K_REF) {
        struct pmo_hdr *hd = hdr_at(h, s->bits);
        if (hd == NULL)
            return -1;
        uint32_t want = k->kind == PMO_K_NEW_STR ? PMO_T_STR
                      : k->kind == PMO_K_NEW_BYTES ? PMO_T_BYTES : 0;
        if (want && hd->type == want) {
            struct pmo_blob *b = (struct pmo_blob *)hd;
            return b->len == k->n && memcmp(b->data, k->data, k->n) == 0;
        }
        switch (hd->type) {
        case PMO_T_STR: case PMO_T_BYTES: case PMO_T_TUPLE:
        case PMO_T_FROZENSET: case PMO_T_PTUPLE: case PMO_T_PFROZENSET:
        case PMO_T_OBJECT:
            return 0;
        default:
            return -1;   /* big int, complex, pickled or user object */
        }
    }
    if (k->kind == PMO_K_NONE)
        return s->kind == PMO_K_NONE;
    if (is_number(k->kind) && is_number(s->kind)) {
        double sf;
        memcpy(&sf, &s->bits, 8);
        return numbers_equal(s->kind, (int64_t)s->bits, sf,
                             k->kind, k->kind == PMO_K_BOOL ? k->i != 0 : k->i,
                             k->f);
    }
    return 0;
}

static int64_t key_hash(const pmo_in *k, int64_t given)
{
    if (k->kind == PMO_K_NEW_STR || k->kind == PMO_K_NEW_BYTES)
        return hash_bytes(k->kind, k->data, k->n);
    return given;
}

/* -- probing --------------------------------------------------------------------------- */

#define PROBE_START(d, hash, i, perturb, mask) \
    uint64_t mask = (d)->nindex - 1, perturb = (uint64_t)(hash), \
             i = (uint64_t)(hash) & mask

#define PROBE_NEXT(i, perturb, mask) \
    do { perturb >>= 5; i = (i * 5 + perturb + 1) & mask; } while (0)

static int probe_corrupt(void)
{
    return pmo_fail(PMO_ECORRUPT, "dict index is damaged");
}

/* Found: 1, with the index position and entry number.  Absent: 0.
 * Or a negative status. */
static int lookup(pmo_pool *h, struct pmo_dict *d, const pmo_in *k,
                  int64_t hash, uint64_t *ixpos, int64_t *entry)
{
    if (d->table == 0)
        return 0;
    int64_t *idx = dict_index(h, d);
    struct pmo_entry *e = dict_entries(h, d);
    PROBE_START(d, hash, i, perturb, mask);
    for (uint64_t n = 0; n <= d->nindex + 64; n++) {
        int64_t ix = idx[i];
        if (ix == IX_EMPTY)
            return 0;
        if (ix >= 0) {
            if ((uint64_t)ix >= d->filled)
                return probe_corrupt();
            if (e[ix].hash == hash && e[ix].key.kind != PMO_K_EMPTY) {
                int eq = key_eq(h, &e[ix].key, k);
                if (eq < 0)
                    return PMO_ENEEDCMP;
                if (eq) {
                    *ixpos = i;
                    *entry = ix;
                    return 1;
                }
            }
        }
        PROBE_NEXT(i, perturb, mask);
    }
    return probe_corrupt();
}

static int64_t find_empty(int64_t *idx, struct pmo_dict *d, int64_t hash)
{
    PROBE_START(d, hash, i, perturb, mask);
    for (uint64_t n = 0; n <= d->nindex + 64; n++) {
        if (idx[i] == IX_EMPTY)
            return (int64_t)i;
        PROBE_NEXT(i, perturb, mask);
    }
    return probe_corrupt();
}

/* Index position that points at entry number pos. */
static int64_t find_entry(int64_t *idx, struct pmo_dict *d, int64_t hash,
                          int64_t pos)
{
    PROBE_START(d, hash, i, perturb, mask);
    for (uint64_t n = 0; n <= d->nindex + 64; n++) {
        if (idx[i] == pos)
            return (int64_t)i;
        if (idx[i] == IX_EMPTY)
            break;
        PROBE_NEXT(i, perturb, mask);
    }
    return probe_corrupt();
}

/* -- changes ---------------------------------------------------------------------------------- */

/* Move the live entries, in order, into a fresh table sized for minused. */
static int resize(pmo_pool *h, struct pmo_dict *d, uint64_t minused)
{
    uint64_t nindex = 8;
    while (nindex * 2 / 3 < minused * 2)
        nindex <<= 1;
    uint64_t cap = nindex * 2 / 3, noff;
    void *data;
    int st = sub_alloc(h, sub_round(nindex * 8 + cap * ENTRY_SIZE),
                       PMO_TN_DICT_TABLE, OFF(h, d), &noff, &data);
    if (st)
        return st;
    int64_t *nidx = data;
    struct pmo_entry *ne = (struct pmo_entry *)((char *)nidx + nindex * 8);
    memset(nidx, 0xff, nindex * 8);   /* all IX_EMPTY */
    struct pmo_dict nd = *d;
    nd.nindex = nindex;
    uint64_t n = 0;
    if (d->table) {
        struct pmo_entry *e = dict_entries(h, d);
        for (uint64_t k = 0; k < d->filled; k++) {
            if (e[k].key.kind == PMO_K_EMPTY)
                continue;
            ne[n] = e[k];
            nidx[find_empty(nidx, &nd, e[k].hash)] = (int64_t)n;
            n++;
        }
    }
    uint64_t old = d->table;
    if ((st = snap(&d->used, 5 * sizeof(uint64_t))) != 0)
        return st;
    d->used = n;
    d->filled = n;
    d->cap = cap;
    d->nindex = nindex;
    d->table = noff;
    return old ? tx_free(h, old) : 0;
}

static int insert(pmo_pool *h, struct pmo_dict *d, int64_t hash,
                  const pmo_in *k, const pmo_in *v)
{
    int st;
    if (d->filled >= d->cap && (st = resize(h, d, d->used + 1)) != 0)
        return st;
    pmo_slot ks, vs;
    if ((st = store_value(h, k, &ks)) != 0 ||
        (st = store_value(h, v, &vs)) != 0)
        return st;
    int64_t *idx = dict_index(h, d);
    struct pmo_entry *e = dict_entries(h, d) + d->filled;
    int64_t ix = find_empty(idx, d, hash);
    if (ix < 0)
        return (int)ix;
    if ((st = touch(e, ENTRY_SIZE)) != 0 ||
        (st = snap(&idx[ix], 8)) != 0 ||
        (st = snap(&d->used, 2 * sizeof(uint64_t))) != 0)
        return st;
    e->hash = hash;
    e->key = ks;
    e->value = vs;
    idx[ix] = (int64_t)d->filled;
    d->filled++;
    d->used++;
    return 0;
}

static int replace_value(pmo_pool *h, struct pmo_entry *e, const pmo_in *v)
{
    pmo_slot s;
    int st;
    if ((st = store_value(h, v, &s)) != 0 ||
        (st = snap(&e->value, sizeof(pmo_slot))) != 0)
        return st;
    pmo_slot old = e->value;
    e->value = s;
    return drop_slot(h, &old);
}

static int remove_entry(pmo_pool *h, struct pmo_dict *d, uint64_t ixpos,
                        int64_t pos)
{
    int64_t *idx = dict_index(h, d);
    struct pmo_entry *e = dict_entries(h, d) + pos;
    int st;
    if ((st = snap(&idx[ixpos], 8)) != 0 ||
        (st = snap(e, ENTRY_SIZE)) != 0 ||
        (st = snap(&d->used, sizeof(d->used))) != 0)
        return st;
    pmo_slot k = e->key, v = e->value;
    idx[ixpos] = IX_DUMMY;
    memset(&e->key, 0, 2 * sizeof(pmo_slot));
    d->used--;
    if ((st = drop_slot(h, &k)) != 0)
        return st;
    return drop_slot(h, &v);
}

/* -- entry points ------------------------------------------------------------------------------------ */

pmo_out pmo_dict_get(pmo_pool *h, uint64_t off, uint64_t kkind, int64_t ki,
                     double kf, const char *kdata, size_t kn, int64_t khash)
{
    pmo_in k = {kkind, ki, kf, kdata, kn};
    pmo_out o;
    memset(&o, 0, sizeof(o));
    if ((o.status = read_enter(h)) != 0)
        return o;
    struct pmo_dict *d;
    uint64_t ixpos;
    int64_t pos;
    if ((o.status = dict_at(h, off, &d)) != 0)
        goto out;
    if (!fast_key(kkind)) {
        o.status = pmo_fail(PMO_EINVAL, "key kind needs the slow path");
        goto out;
    }
    int r = lookup(h, d, &k, key_hash(&k, khash), &ixpos, &pos);
    if (r == 1) {
        o = out_slot(h, &dict_entries(h, d)[pos].value);
        o.pos = pos;
    } else {
        o.status = r == 0 ? PMO_EKEY : r;
    }
out:
    read_leave(h);
    return o;
}

/* Set k to v inside the running operation. */
static int dict_set(pmo_pool *h, uint64_t off, const pmo_in *k, int64_t khash,
                    const pmo_in *v)
{
    struct pmo_dict *d;
    uint64_t ixpos;
    int64_t pos, hash = key_hash(k, khash);
    int st;
    if ((st = dict_at(h, off, &d)) != 0)
        return st;
    if (!fast_key(k->kind))
        return pmo_fail(PMO_EINVAL, "key kind needs the slow path");
    if ((st = check_in(h, v)) != 0)
        return st;
    int r = lookup(h, d, k, hash, &ixpos, &pos);
    if (r == 1)
        return replace_value(h, dict_entries(h, d) + pos, v);
    return r == 0 ? insert(h, d, hash, k, v) : r;
}

/* The int slot under str key k of dict off.  *hint, if hint is not NULL,
 * is the entry it was found at last: tried first (a live entry holding the
 * key is the key's one entry, wherever a rebuild of the table left it),
 * and updated. */
static int int_slot(pmo_pool *h, uint64_t off, const pmo_in *k, int64_t *hint,
                    pmo_slot **slot)
{
    struct pmo_dict *d;
    uint64_t ixpos;
    int64_t pos = hint ? *hint : -1;
    int st = dict_at(h, off, &d);
    if (st)
        return st;
    if (d->table == 0 || pos < 0 || (uint64_t)pos >= d->filled ||
            key_eq(h, &dict_entries(h, d)[pos].key, k) != 1) {
        int r = lookup(h, d, k, key_hash(k, 0), &ixpos, &pos);
        if (r != 1)
            return r == 0 ? PMO_EKEY : r;
        if (hint)
            *hint = pos;
    }
    *slot = &dict_entries(h, d)[pos].value;
    if ((*slot)->kind != PMO_K_INT)
        return pmo_fail(PMO_EINVAL, "the value is not an int");
    return 0;
}

/* Add delta to the int under str key k inside the running operation. */
static int dict_add(pmo_pool *h, uint64_t off, const pmo_in *k, int64_t delta,
                    int64_t *value)
{
    pmo_slot *v;
    int st = int_slot(h, off, k, NULL, &v);
    if (st == 0 && (st = snap(v, sizeof(*v))) == 0) {
        *value = (int64_t)v->bits + delta;
        v->bits = (uint64_t)*value;
    }
    return st;
}

/* A change counter: the int under str key key of dict d. */
pmo_counter *pmo_counter_new(uint64_t d, const char *key, size_t n)
{
    pmo_counter *c = malloc(sizeof(*c) + n);
    if (c != NULL) {
        c->dict = d;
        c->pos = -1;
        c->n = n;
        memcpy(c->key, key, n);
    }
    return c;
}

void pmo_counter_free(pmo_counter *c) { free(c); }

/* Count one change in counter c (an object's version), as the last step
 * of an operation.  In an operation's own transaction the count is written
 * in place and flushed, not logged: that saves the undo-log entry, most of
 * the cost of a versioned write.
 * The commit drains the flush before it drops the undo log, so a committed
 * change is always counted; a crash before the commit point can leave one
 * change counted that was rolled back, never one missed.  Inside a caller's
 * transaction, which may still abort, the count is logged like any write. */
int count_change(pmo_pool *h, int own, pmo_counter *c)
{
    pmo_in k = {PMO_K_NEW_STR, 0, 0.0, c->key, c->n};
    pmo_slot *v;
    int st = int_slot(h, c->dict, &k, &c->pos, &v);
    if (st)
        return st;
    if (own) {
        v->bits++;
        pmemobj_flush(h->pop, &v->bits, sizeof(v->bits));
        return 0;
    }
    /* a batch counts many changes: log the counter once (the log keeps
     * it until the end; memory freed meanwhile is not reused before) */
    if (v != h->logged_count) {
        if ((st = snap(v, sizeof(*v))) != 0)
            return st;
        h->logged_count = v;
    }
    v->bits++;
    return 0;
}

int pmo_dict_set(pmo_pool *h, uint64_t off, uint64_t kkind, int64_t ki,
                 double kf, const char *kdata, size_t kn, int64_t khash,
                 uint64_t vkind, int64_t vi, double vf, const char *vdata,
                 size_t vn)
{
    pmo_in k = {kkind, ki, kf, kdata, kn}, v = {vkind, vi, vf, vdata, vn};
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    return op_leave(h, own, dict_set(h, off, &k, khash, &v));
}

/* Set a str key and count the change in an int under a str key of
 * another dict, as one step (a versioned write). */
int pmo_dict_set_str_counted(pmo_pool *h, uint64_t off, const char *kdata,
                             size_t kn, uint64_t vkind, int64_t vi, double vf,
                             const char *vdata, size_t vn, pmo_counter *c)
{
    pmo_in k = {PMO_K_NEW_STR, 0, 0.0, kdata, kn}, v = {vkind, vi, vf, vdata, vn};
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    if ((st = dict_set(h, off, &k, 0, &v)) == 0)
        st = count_change(h, own, c);
    return op_leave(h, own, st);
}

pmo_out pmo_dict_get_str(pmo_pool *h, uint64_t off, const char *kdata, size_t kn)
{
    return pmo_dict_get(h, off, PMO_K_NEW_STR, 0, 0.0, kdata, kn, 0);
}

int pmo_dict_set_str(pmo_pool *h, uint64_t off, const char *kdata, size_t kn,
                     uint64_t vkind, int64_t vi, double vf, const char *vdata,
                     size_t vn)
{
    return pmo_dict_set(h, off, PMO_K_NEW_STR, 0, 0.0, kdata, kn, 0, vkind, vi,
                        vf, vdata, vn);
}

/* Add delta to the int stored under a str key (a counter, such as an
 * object's version); the new value comes back in i. */
pmo_out pmo_dict_add_int(pmo_pool *h, uint64_t off, const char *kdata, size_t kn,
                         int64_t delta)
{
    pmo_in k = {PMO_K_NEW_STR, 0, 0.0, kdata, kn};
    pmo_out o;
    memset(&o, 0, sizeof(o));
    int64_t value = 0;
    int own, st = op_enter(h, &own);
    if (st) {
        o.status = st;
        return o;
    }
    o.status = op_leave(h, own, dict_add(h, off, &k, delta, &value));
    o.kind = PMO_K_INT;
    o.i = value;
    return o;
}

static int dict_del(pmo_pool *h, uint64_t off, const pmo_in *k, int64_t khash)
{
    struct pmo_dict *d;
    uint64_t ixpos;
    int64_t pos;
    int st = dict_at(h, off, &d);
    if (st)
        return st;
    if (!fast_key(k->kind))
        return pmo_fail(PMO_EINVAL, "key kind needs the slow path");
    int r = lookup(h, d, k, key_hash(k, khash), &ixpos, &pos);
    return r == 1 ? remove_entry(h, d, ixpos, pos) : r == 0 ? PMO_EKEY : r;
}

int pmo_dict_del(pmo_pool *h, uint64_t off, uint64_t kkind, int64_t ki,
                 double kf, const char *kdata, size_t kn, int64_t khash)
{
    pmo_in k = {kkind, ki, kf, kdata, kn};
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    return op_leave(h, own, dict_del(h, off, &k, khash));
}

/* Delete a key and count the change in an int under a str key of another
 * dict, as one step (a versioned delete). */
int pmo_dict_del_counted(pmo_pool *h, uint64_t off, uint64_t kkind, int64_t ki,
                         double kf, const char *kdata, size_t kn, int64_t khash,
                         pmo_counter *c)
{
    pmo_in k = {kkind, ki, kf, kdata, kn};
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    if ((st = dict_del(h, off, &k, khash)) == 0)
        st = count_change(h, own, c);
    return op_leave(h, own, st);
}

/* Entry numbers of the live entries whose hash is hash (slow path). */
int64_t pmo_dict_candidates(pmo_pool *h, uint64_t off, int64_t hash,
                            int64_t *out, uint64_t max)
{
    int st = read_enter(h);
    if (st)
        return st;
    struct pmo_dict *d;
    int64_t n = 0;
    if ((st = dict_at(h, off, &d)) != 0 || d->table == 0)
        goto out;
    int64_t *idx = dict_index(h, d);
    struct pmo_entry *e = dict_entries(h, d);
    PROBE_START(d, hash, i, perturb, mask);
    for (uint64_t t = 0; t <= d->nindex + 64; t++) {
        int64_t ix = idx[i];
        if (ix == IX_EMPTY)
            goto out;
        if (ix >= 0 && (uint64_t)ix < d->filled && e[ix].hash == hash &&
            e[ix].key.kind != PMO_K_EMPTY) {
            if ((uint64_t)n < max)
                out[n] = ix;
            n++;
        }
        PROBE_NEXT(i, perturb, mask);
    }
    st = probe_corrupt();
out:
    read_leave(h);
    return st ? st : n;
}

/* The first live entry at or after pos: its key or value, and pos. */
static pmo_out entry_at(pmo_pool *h, uint64_t off, int64_t pos, int value)
{
    pmo_out o;
    memset(&o, 0, sizeof(o));
    if ((o.status = read_enter(h)) != 0)
        return o;
    struct pmo_dict *d;
    if ((o.status = dict_at(h, off, &d)) != 0)
        goto out;
    struct pmo_entry *e = d->table ? dict_entries(h, d) : NULL;
    if (pos < 0)
        pos = 0;
    for (; e && (uint64_t)pos < d->filled; pos++) {
        if (e[pos].key.kind != PMO_K_EMPTY) {
            o = out_slot(h, value ? &e[pos].value : &e[pos].key);
            o.pos = pos;
            goto out;
        }
    }
    o.status = PMO_EINDEX;
out:
    read_leave(h);
    return o;
}

pmo_out pmo_dict_key_at(pmo_pool *h, uint64_t off, int64_t pos)
{
    return entry_at(h, off, pos, 0);
}

pmo_out pmo_dict_value_at(pmo_pool *h, uint64_t off, int64_t pos)
{
    return entry_at(h, off, pos, 1);
}

static int live_entry(pmo_pool *h, uint64_t off, int64_t pos,
                      struct pmo_dict **dp)
{
    int st = dict_at(h, off, dp);
    if (st)
        return st;
    struct pmo_dict *d = *dp;
    if (pos < 0 || (uint64_t)pos >= d->filled || d->table == 0 ||
        dict_entries(h, d)[pos].key.kind == PMO_K_EMPTY)
        return pmo_fail(PMO_EINDEX, "no live entry at %lld", (long long)pos);
    return 0;
}

int pmo_dict_set_at(pmo_pool *h, uint64_t off, int64_t pos, uint64_t vkind,
                    int64_t vi, double vf, const char *vdata, size_t vn)
{
    pmo_in v = {vkind, vi, vf, vdata, vn};
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    struct pmo_dict *d;
    if ((st = live_entry(h, off, pos, &d)) == 0 &&
        (st = check_in(h, &v)) == 0)
        st = replace_value(h, dict_entries(h, d) + pos, &v);
    return op_leave(h, own, st);
}

/* Insert a key Python has checked is absent. */
int pmo_dict_insert_new(pmo_pool *h, uint64_t off, int64_t hash,
                        uint64_t kkind, int64_t ki, double kf,
                        const char *kdata, size_t kn, uint64_t vkind,
                        int64_t vi, double vf, const char *vdata, size_t vn)
{
    pmo_in k = {kkind, ki, kf, kdata, kn}, v = {vkind, vi, vf, vdata, vn};
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    struct pmo_dict *d;
    if ((st = dict_at(h, off, &d)) == 0 && (st = check_in(h, &k)) == 0 &&
        (st = check_in(h, &v)) == 0) {
        if (k.kind == PMO_K_EMPTY)
            st = pmo_fail(PMO_EINVAL, "a key cannot be empty");
        else
            st = insert(h, d, key_hash(&k, hash), &k, &v);
    }
    return op_leave(h, own, st);
}

int pmo_dict_del_at(pmo_pool *h, uint64_t off, int64_t pos)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    struct pmo_dict *d;
    if ((st = live_entry(h, off, pos, &d)) == 0) {
        int64_t ix = find_entry(dict_index(h, d), d,
                                dict_entries(h, d)[pos].hash, pos);
        st = ix < 0 ? (int)ix : remove_entry(h, d, (uint64_t)ix, pos);
    }
    return op_leave(h, own, st);
}

int pmo_dict_clear(pmo_pool *h, uint64_t off)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    struct pmo_dict *d;
    if ((st = dict_at(h, off, &d)) != 0 || d->table == 0)
        goto out;
    struct pmo_entry *e = dict_entries(h, d);
    uint64_t old = d->table, filled = d->filled;
    if ((st = snap(&d->used, 5 * sizeof(uint64_t))) != 0)
        goto out;
    memset(&d->used, 0, 5 * sizeof(uint64_t));
    /* the old block stays readable until commit frees it */
    for (uint64_t k = 0; k < filled && !st; k++) {
        if (e[k].key.kind == PMO_K_EMPTY)
            continue;
        if ((st = drop_slot(h, &e[k].key)) == 0)
            st = drop_slot(h, &e[k].value);
    }
    if (!st)
        st = tx_free(h, old);
out:
    return op_leave(h, own, st);
}

int64_t pmo_dict_last(pmo_pool *h, uint64_t off)
{
    int st = read_enter(h);
    if (st)
        return st;
    struct pmo_dict *d;
    int64_t r = PMO_EKEY;
    if ((st = dict_at(h, off, &d)) != 0) {
        r = st;
    } else if (d->table) {
        struct pmo_entry *e = dict_entries(h, d);
        for (int64_t k = (int64_t)d->filled - 1; k >= 0; k--)
            if (e[k].key.kind != PMO_K_EMPTY) {
                r = k;
                break;
            }
    }
    read_leave(h);
    return r;
}
