/*
 * value.c -- slots, PObject headers, reference counts, immutable values.
 *
 * A count that drops to zero frees an immutable value at once (nothing
 * but its one owner can reach it).  A container goes to the zero-count
 * table instead: a Python wrapper may still hold it, and Python decides
 * when it is really garbage.
 */
#include <stdlib.h>

#include "core.h"

static int valid_layout(uint32_t layout)
{
    return layout >= PMO_L_BLOB && layout <= PMO_L_OPAQUE;
}

struct pmo_hdr *hdr_at(pmo_pool *h, uint64_t off)
{
    if (!off_ok(h, off, sizeof(struct pmo_hdr)))
        return NULL;
    struct pmo_hdr *hd = P(h, off);
    return hd->magic == PMO_HDR_MAGIC && valid_layout(hd->layout) &&
           hd->type != 0 ? hd : NULL;
}

void init_hdr(struct pmo_hdr *hd, uint32_t type, uint32_t layout,
              uint64_t refcnt)
{
    hd->refcnt = refcnt;
    hd->type = type;
    hd->layout = (uint16_t)layout;
    hd->magic = PMO_HDR_MAGIC;
}

static int corrupt_ref(uint64_t off)
{
    return pmo_fail(PMO_ECORRUPT, "reference to offset %llu does not point "
                    "at an object", (unsigned long long)off);
}

/* -- hashing: stable across processes, unlike Python's str hash -------------- */

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t avalanche(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

int64_t hash_bytes(uint64_t kind, const char *data, size_t n)
{
    const uint64_t m = 0x9e3779b97f4a7c15ULL;
    uint64_t acc = (kind + 1) * 0x100000001b3ULL ^ (uint64_t)n * m;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        acc = rotl(acc ^ (w * m), 29) * 0xbf58476d1ce4e5b9ULL;
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, data + i, n - i);
        acc = rotl(acc ^ (w * m), 29) * 0xbf58476d1ce4e5b9ULL;
    }
    return (int64_t)avalanche(acc);
}

int64_t pmo_hash_bytes(uint64_t kind, const char *data, size_t n)
{
    return hash_bytes(kind, data, n);
}

/* -- blobs -------------------------------------------------------------------- */

static uint32_t blob_type(uint64_t kind)
{
    switch (kind) {
    case PMO_K_NEW_STR: return PMO_T_STR;
    case PMO_K_NEW_BYTES: return PMO_T_BYTES;
    case PMO_K_NEW_BIGINT: return PMO_T_BIGINT;
    case PMO_K_NEW_COMPLEX: return PMO_T_COMPLEX;
    case PMO_K_NEW_PICKLE: return PMO_T_PICKLE;
    default: return 0;
    }
}

/* A new blob with a count of one, owned by the slot about to hold it. */
int new_blob(pmo_pool *h, uint32_t type, const char *data, size_t n,
             uint64_t *off)
{
    int st = tx_alloc(h, sizeof(struct pmo_blob) + n + 1, PMO_TN_POBJECT, 0,
                      off);
    if (st)
        return st;
    struct pmo_blob *b = P(h, *off);
    init_hdr(&b->hdr, type, PMO_L_BLOB, 1);
    b->len = n;
    b->hash = (type == PMO_T_STR || type == PMO_T_BYTES)
        ? hash_bytes(type == PMO_T_STR ? PMO_K_NEW_STR : PMO_K_NEW_BYTES,
                     data, n)
        : 0;
    if (n)
        memcpy(b->data, data, n);
    b->data[n] = 0;
    return 0;
}

/* -- slots ------------------------------------------------------------------------ */

/* Check an input before anything is written, so a bad one stays benign. */
int check_in(pmo_pool *h, const pmo_in *in)
{
    switch (in->kind) {
    case PMO_K_EMPTY: case PMO_K_NONE: case PMO_K_BOOL: case PMO_K_INT:
    case PMO_K_FLOAT:
        return 0;
    case PMO_K_REF:
        if (hdr_at(h, (uint64_t)in->i) == NULL)
            return pmo_fail(PMO_EINVAL, "no object at offset %lld",
                            (long long)in->i);
        return 0;
    default:
        if (blob_type(in->kind) && (in->data != NULL || in->n == 0))
            return 0;
        return pmo_fail(PMO_EINVAL, "unknown value kind %llu",
                        (unsigned long long)in->kind);
    }
}

/* Build the slot for an input: immediates are copied, references gain a
 * count, blobs are allocated.  dst must be fresh or snapshotted. */
int store_value(pmo_pool *h, const pmo_in *in, pmo_slot *dst)
{
    pmo_slot s = {in->kind, 0};
    int st = 0;
    switch (in->kind) {
    case PMO_K_EMPTY: case PMO_K_NONE:
        break;
    case PMO_K_BOOL:
        s.bits = in->i != 0;
        break;
    case PMO_K_INT:
        s.bits = (uint64_t)in->i;
        break;
    case PMO_K_FLOAT:
        memcpy(&s.bits, &in->f, 8);
        break;
    case PMO_K_REF:
        s.bits = (uint64_t)in->i;
        st = incref(h, s.bits);
        break;
    case PMO_K_NEW_STR: case PMO_K_NEW_BYTES:
        if (in->n <= SHORT_MAX) {
            /* short strings live in the slot: no allocation, no count */
            s.kind = (in->kind == PMO_K_NEW_STR ? PMO_K_SSTR : PMO_K_SBYTES) |
                     ((uint64_t)in->n << 8);
            if (in->n)
                memcpy(&s.bits, in->data, in->n);
            break;
        }
        /* fall through */
    default: {
        uint32_t type = blob_type(in->kind);
        if (type == 0)
            return pmo_fail(PMO_EINVAL, "unknown value kind");
        s.kind = PMO_K_REF;
        st = new_blob(h, type, in->data, in->n, &s.bits);
    }
    }
    if (st == 0)
        *dst = s;
    return st;
}

int drop_slot(pmo_pool *h, const pmo_slot *s)
{
    return s->kind == PMO_K_REF ? decref(h, s->bits) : 0;
}

/* -- handing bytes to Python ---------------------------------------------- */

/* Python decodes a str or bytes value after the call has returned and the
 * pool's lock is released: by then another thread may have overwritten the
 * slot, freed the blob, or closed the pool and unmapped it (a crash).  So
 * the bytes are copied, under the lock, into a buffer of the calling
 * thread, reused by its next call.  Up to STAGE_KEEP bytes stay allocated;
 * a larger buffer is given back at the next smaller copy. */
#define STAGE_KEEP (1 << 20)
static __thread char *stage_buf;
static __thread size_t stage_cap;
static pthread_key_t stage_key;        /* frees the buffer at thread exit */
static pthread_once_t stage_once = PTHREAD_ONCE_INIT;

static void stage_make_key(void) { pthread_key_create(&stage_key, free); }

static const char *stage(const char *src, size_t n, int32_t *status)
{
    if (n == 0)
        return "";   /* Python cannot unpack NULL, even for no bytes */
    if (n > stage_cap || (stage_cap > STAGE_KEEP && n <= STAGE_KEEP)) {
        size_t cap = n < 256 ? 256 : n;
        char *buf = malloc(cap);
        if (buf == NULL) {
            *status = pmo_fail(PMO_EMEMORY, "no memory to copy a %zu-byte "
                               "value out of the pool", n);
            return NULL;
        }
        free(stage_buf);
        pthread_once(&stage_once, stage_make_key);
        pthread_setspecific(stage_key, buf);
        stage_buf = buf;
        stage_cap = cap;
    }
    memcpy(stage_buf, src, n);
    return stage_buf;
}

/* -- pins: objects handed to Python and not yet held there -------------- */

/* A call that returns a reference to an object (a container, a tuple)
 * releases the pool's lock before Python has made the Python object that
 * keeps it alive.  Meanwhile another thread may drop the last stored
 * reference, and the collector (which spares what Python holds) or the
 * immediate free of an immutable would free it under the reader.  So such
 * a call pins the object for its thread (o.pinned = its level + 1), and
 * Python unpins it (pmo_unpin) once it holds the object or has read what
 * it needed; pins nest (a tuple's items are read while it is pinned).
 * A pinned object is not freed: it waits in the zero-count table, and a
 * collection counts it as held. */
#define PIN_DEPTH 32
struct pins {
    int depth;
    struct { uint64_t opened, off; } at[PIN_DEPTH];   /* opened: h->opened */
    struct pins *next;
};
static pthread_mutex_t pins_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pins *all_pins;          /* one per thread, under pins_lock */
static __thread struct pins *my_pins;
static pthread_key_t pins_key;         /* unlinks a thread's pins at its exit */
static pthread_once_t pins_once = PTHREAD_ONCE_INIT;

/* The pins of one thread change only in that thread; other threads read
 * them under pins_lock while holding the lock of the pool they free from,
 * which the pinning call held too (entries in use are never rewritten). */
#define PIN_SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELEASE)
#define PIN_GET(field) __atomic_load_n(&(field), __ATOMIC_ACQUIRE)

static void pins_unlink(void *mine)
{
    pthread_mutex_lock(&pins_lock);
    for (struct pins **p = &all_pins; *p != NULL; p = &(*p)->next)
        if (*p == mine) {
            *p = ((struct pins *)mine)->next;
            break;
        }
    pthread_mutex_unlock(&pins_lock);
    free(mine);
    my_pins = NULL;
}

static void pins_make_key(void) { pthread_key_create(&pins_key, pins_unlink); }

/* Pin off for this thread: its level + 1 (what out.pinned carries), or 0
 * when it cannot be recorded (out of memory, nested too deep). */
static uint32_t pin(pmo_pool *h, uint64_t off)
{
    if (my_pins == NULL) {
        struct pins *p = calloc(1, sizeof(*p));
        if (p == NULL)
            return 0;
        pthread_once(&pins_once, pins_make_key);
        pthread_setspecific(pins_key, p);
        pthread_mutex_lock(&pins_lock);
        p->next = all_pins;
        all_pins = p;
        pthread_mutex_unlock(&pins_lock);
        my_pins = p;
    }
    struct pins *p = my_pins;
    int k = p->depth;
    if (k == PIN_DEPTH)
        return 0;
    PIN_SET(p->at[k].opened, h->opened);
    PIN_SET(p->at[k].off, off);
    PIN_SET(p->depth, k + 1);
    return (uint32_t)k + 1;
}

/* Drop this thread's pins from level on, those above it included: pins an
 * exception left between a C call and its unpin. */
static void unpin_to(uint32_t level)
{
    struct pins *p = my_pins;
    if (p != NULL && (uint32_t)p->depth > level)
        PIN_SET(p->depth, (int)level);
}

void pmo_unpin(uint32_t pinned)
{
    if (pinned != 0)
        unpin_to(pinned - 1);
}

void pmo_unpin_all(void) { unpin_to(0); }

int pmo_pin_depth(void) { return my_pins ? my_pins->depth : 0; }

int pmo_is_pinned(pmo_pool *h, uint64_t off)
{
    int st = read_enter(h);
    if (st)
        return st;
    st = pinned(h, off);
    read_leave(h);
    return st;
}

int pinned(pmo_pool *h, uint64_t off)
{
    int found = 0;
    pthread_mutex_lock(&pins_lock);
    for (struct pins *p = all_pins; p != NULL && !found; p = p->next)
        for (int k = PIN_GET(p->depth); k-- > 0 && !found;)
            found = PIN_GET(p->at[k].opened) == h->opened &&
                    PIN_GET(p->at[k].off) == off;
    pthread_mutex_unlock(&pins_lock);
    return found;
}

void pins_visit(pmo_pool *h, void (*visit)(uint64_t off, void *arg), void *arg)
{
    pthread_mutex_lock(&pins_lock);
    for (struct pins *p = all_pins; p != NULL; p = p->next)
        for (int k = PIN_GET(p->depth); k-- > 0;)
            if (PIN_GET(p->at[k].opened) == h->opened)
                visit(PIN_GET(p->at[k].off), arg);
    pthread_mutex_unlock(&pins_lock);
}

void pins_before_fork(void) { pthread_mutex_lock(&pins_lock); }
void pins_after_fork(void) { pthread_mutex_unlock(&pins_lock); }

/* In a child only the forking thread lives on: the other threads' records
 * are dropped from the list (and left allocated, a few hundred bytes). */
void pins_after_fork_child(void)
{
    all_pins = my_pins;
    if (my_pins != NULL)
        my_pins->next = NULL;
    pthread_mutex_unlock(&pins_lock);
}

pmo_out out_slot(pmo_pool *h, const pmo_slot *s)
{
    pmo_out o;
    memset(&o, 0, sizeof(o));
    o.kind = s->kind;
    switch (SLOT_KIND(s->kind)) {
    case PMO_K_EMPTY: case PMO_K_NONE:
        break;
    case PMO_K_SSTR: case PMO_K_SBYTES:
        if (SLOT_SHORT_LEN(s->kind) > SHORT_MAX) {
            o.status = pmo_fail(PMO_ECORRUPT, "short string slot is damaged");
            break;
        }
        o.kind = PMO_K_REF;
        o.type = SLOT_KIND(s->kind) == PMO_K_SSTR ? PMO_T_STR : PMO_T_BYTES;
        o.layout = PMO_L_BLOB;
        o.len = SLOT_SHORT_LEN(s->kind);
        o.ptr = stage((const char *)&s->bits, o.len, &o.status);
        break;
    case PMO_K_BOOL: case PMO_K_INT:
        o.i = (int64_t)s->bits;
        break;
    case PMO_K_FLOAT:
        memcpy(&o.f, &s->bits, 8);
        break;
    case PMO_K_REF: {
        struct pmo_hdr *hd = hdr_at(h, s->bits);
        if (hd == NULL) {
            o.status = corrupt_ref(s->bits);
            break;
        }
        o.i = (int64_t)s->bits;
        o.type = hd->type;
        o.layout = hd->layout;
        if (hd->layout != PMO_L_BLOB)
            o.pinned = pin(h, s->bits);
        if (hd->layout == PMO_L_BLOB) {
            struct pmo_blob *b = (struct pmo_blob *)hd;
            if (!off_ok(h, s->bits, sizeof(*b)) || b->len >= h->limit ||
                !off_ok(h, s->bits, sizeof(*b) + b->len + 1)) {
                o.status = corrupt_ref(s->bits);
                break;
            }
            o.len = b->len;
            o.ptr = stage(b->data, o.len, &o.status);
        }
        break;
    }
    default:
        o.status = pmo_fail(PMO_ECORRUPT, "slot of unknown kind %llu",
                            (unsigned long long)s->kind);
    }
    return o;
}

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
int release(pmo_pool *h, uint64_t off)
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

/* -- the zero-count table ----------------------------------------------------------- */

int zct_push(pmo_pool *h, uint64_t off)
{
    struct pmo_root *r = h->root;
    int st;
    uint64_t *a = r->zct_cap ? sub_data(h, r->zct, r->zct_cap * 8, 0) : NULL;
    if (r->zct_len > r->zct_cap || (r->zct_cap && a == NULL))
        return pmo_fail(PMO_ECORRUPT, "zero-count table is damaged");
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

static uint64_t *zct_array(pmo_pool *h)
{
    struct pmo_root *r = h->root;
    uint64_t *a = r->zct_cap ? sub_data(h, r->zct, r->zct_cap * 8, 0) : NULL;
    if (r->zct_len > r->zct_cap || (r->zct_len && a == NULL)) {
        pmo_fail(PMO_ECORRUPT, "zero-count table is damaged");
        return NULL;
    }
    return a;
}

/* Copy up to max entries of the zero-count table; returns how many it
 * holds. */
int64_t pmo_zct_read(pmo_pool *h, uint64_t start, uint64_t *buf, uint64_t max)
{
    int st = read_enter(h);
    if (st)
        return st;
    uint64_t n = h->root->zct_len;
    uint64_t *a = zct_array(h);
    int64_t r = n && a == NULL ? PMO_ECORRUPT : (int64_t)n;
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
    uint64_t *a = zct_array(h);
    int removed = 0;
    if (r->zct_len && a == NULL) {
        st = PMO_ECORRUPT;
    } else {
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

/* A zeroed tuple-layout object of n empty slots, count zero. */
static int new_tuple(pmo_pool *h, uint32_t type, uint64_t n, int64_t hash,
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

/* Give an immutable value an oid of its own (MemoryManager.persist). */
int64_t pmo_new_value(pmo_pool *h, uint64_t kind, int64_t i, double f,
                      const char *data, size_t n)
{
    pmo_in in = {kind, i, f, data, n};
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    uint64_t off = 0;
    if ((st = check_in(h, &in)) != 0) {
        /* benign */
    } else if (kind == PMO_K_REF) {
        off = (uint64_t)i;
    } else if (blob_type(kind)) {
        if ((st = new_blob(h, blob_type(kind), data, n, &off)) == 0)
            ((struct pmo_hdr *)P(h, off))->refcnt = 0;
    } else if ((st = new_tuple(h, PMO_T_BOX, 1, 0, &off)) == 0) {
        st = store_value(h, &in, &((struct pmo_tuple *)P(h, off))->items[0]);
    }
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

/* -- the pool root -------------------------------------------------------------------------- */

pmo_out pmo_root_get(pmo_pool *h)
{
    pmo_out o;
    memset(&o, 0, sizeof(o));
    if ((o.status = read_enter(h)) != 0)
        return o;
    o = out_slot(h, &h->root->user_root);
    read_leave(h);
    return o;
}

int pmo_root_set(pmo_pool *h, uint64_t kind, int64_t i, double f,
                 const char *data, size_t n)
{
    pmo_in in = {kind, i, f, data, n};
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    pmo_slot s, old = h->root->user_root;
    if ((st = check_in(h, &in)) == 0 &&
        (st = store_value(h, &in, &s)) == 0 &&
        (st = snap(&h->root->user_root, sizeof(pmo_slot))) == 0) {
        h->root->user_root = s;
        st = drop_slot(h, &old);
    }
    return op_leave(h, own, st);
}

/* The type table: a list of class paths, created on first use. */
int64_t pmo_type_table(pmo_pool *h)
{
    int own, st = op_enter(h, &own);
    if (st)
        return st;
    pmo_slot *t = &h->root->types;
    if (t->kind != PMO_K_REF) {
        uint64_t off;
        st = tx_alloc(h, sizeof(struct pmo_list), PMO_TN_POBJECT, 1, &off);
        if (st == 0 && (st = snap(t, sizeof(*t))) == 0) {
            init_hdr(P(h, off), PMO_T_LIST, PMO_L_LIST, 1);
            t->kind = PMO_K_REF;
            t->bits = off;
        }
    }
    int64_t r = (int64_t)t->bits;
    st = op_leave(h, own, st);
    return st < 0 ? st : r;
}
