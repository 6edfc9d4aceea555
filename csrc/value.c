/*
 * value.c -- what Python passes in for a value, and the immutable values.
 *
 * An input (pmo_in) is checked before anything is written (check_in) and
 * turned into a slot (store_value): immediates are copied, short str and
 * bytes live in the slot itself, a reference gains a count, anything else
 * becomes a blob (str, bytes, big int, complex, pickle) with a hash that
 * is stable across processes.  What goes back to Python is in handout.c.
 */
#include "core.h"

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
static int new_blob(pmo_pool *h, uint32_t type, const char *data, size_t n,
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

/* -- a value as an object of its own ------------------------------------------- */

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
