/*
 * pmo.h -- the interface of the C core of pmemobj.
 *
 * build.py hands this file to cffi's cdef after dropping the preprocessor
 * lines, so it holds plain declarations only: no macros, no inline code.
 *
 * A function that takes a pool handle takes it first and holds the
 * handle's lock for the call, except these:
 *   - pmo_is_open, pmo_was_clean, pmo_uuid_lo, pmo_gc_needed and
 *     pmo_tx_active read a field or the thread's state without the lock;
 *   - pmo_confine_push changes only the calling thread's state, and
 *     pmo_dontfork takes the process's lock of pool mappings instead;
 *   - pmo_tx_begin and pmo_hold return with the lock still held, and
 *     pmo_tx_commit, pmo_tx_abort and pmo_unhold release that lock
 *     without taking it again;
 *   - pmo_close and pmo_abandon of a pool inherited through fork() only
 *     forget it, without the lock.
 * Functions without a handle lock none.  Failures come back as a negative
 * status (PMO_E*) with a message readable via pmo_errmsg(); none of them
 * aborts the process on bad input.
 */
#ifndef PMO_H
#define PMO_H

#include <stddef.h>
#include <stdint.h>

/* Status codes.  Codes above PMO_EFAIL are "benign": detected before any
 * write, they leave a running transaction usable.  PMO_EFAIL and below
 * abort the transaction they happen in. */
enum {
    PMO_OK = 0,
    PMO_COLLECT = 1,      /* success; objects wait in the zero-count table */
    PMO_EKEY = -1,        /* key not found */
    PMO_EINDEX = -2,      /* index out of range */
    PMO_ENEEDCMP = -3,    /* hash match that only Python can compare */
    PMO_EINVAL = -4,      /* bad argument (wrong kind, bad oid, ...) */
    PMO_ECLOSED = -5,     /* pool is closed */
    PMO_ENOTX = -6,       /* needs a transaction, or wrong one ended */
    PMO_EABORTED = -7,    /* the running transaction was aborted */
    PMO_EOTHERTX = -8,    /* this thread runs a transaction of another pool */
    PMO_EOPAQUE = -9,     /* object has a Python-defined layout */
    PMO_EOS = -10,        /* open/create failed; see pmo_errno() */
    PMO_ECONFINED = -11,  /* the thread is confined to another pool, or
                             to reading this one (pmo_confine) */
    PMO_EMEMORY = -12,    /* out of process memory (malloc failed) */
    PMO_EFAIL = -100,     /* below: the transaction was aborted */
    PMO_ENOMEM = -101,    /* pool full */
    PMO_ECORRUPT = -102,  /* inconsistent data found in the pool */
    PMO_ETXFAIL = -103    /* libpmemobj refused a transactional call */
};

/* Slot kinds: a slot is 16 bytes, kind + bits.  Kinds up to PMO_K_REF are
 * what the pool stores; the PMO_K_NEW_* kinds are inputs only, asking the
 * C core to allocate the object from the bytes passed in. */
enum {
    PMO_K_EMPTY = 0,
    PMO_K_NONE = 1,
    PMO_K_BOOL = 2,
    PMO_K_INT = 3,        /* int64 in bits */
    PMO_K_FLOAT = 4,      /* double in bits */
    PMO_K_REF = 5,        /* offset of a PObject */
    PMO_K_SSTR = 6,       /* str of up to 8 UTF-8 bytes inline; length in
                             the kind's bits 8 and up */
    PMO_K_SBYTES = 7,     /* bytes of up to 8, likewise */
    PMO_K_NEW_STR = 16,   /* UTF-8 (surrogatepass) bytes */
    PMO_K_NEW_BYTES = 17,
    PMO_K_NEW_BIGINT = 18, /* signed little-endian two's complement */
    PMO_K_NEW_COMPLEX = 19, /* two doubles */
    PMO_K_NEW_PICKLE = 20
};

/* Type codes stored in PObject headers.  Codes below PMO_T_FIRST_CONTAINER
 * are immutable values freed as soon as their count drops to zero;
 * containers go through the zero-count table because a live Python
 * wrapper may still point at them.  User classes get codes from
 * PMO_T_FIRST_USER, indexes into the pool's type table. */
enum {
    PMO_T_STR = 1,
    PMO_T_BYTES = 2,
    PMO_T_BIGINT = 3,
    PMO_T_COMPLEX = 4,
    PMO_T_PICKLE = 5,
    PMO_T_TUPLE = 6,
    PMO_T_FROZENSET = 7,
    PMO_T_BOX = 8,        /* one immediate value given an oid by persist() */
    PMO_T_FIRST_CONTAINER = 16,
    PMO_T_LIST = 16,
    PMO_T_DICT = 17,
    PMO_T_OBJECT = 18,
    PMO_T_SET = 19,
    PMO_T_PFROZENSET = 20,
    PMO_T_PTUPLE = 21,
    PMO_T_FIRST_USER = 64
};

/* Layouts: how the C core finds references inside an object. */
enum {
    PMO_L_BLOB = 1,       /* len, hash, bytes */
    PMO_L_TUPLE = 2,      /* n, hash, n slots */
    PMO_L_LIST = 3,       /* len, cap, slot array */
    PMO_L_DICT = 4,       /* compact ordered hash table */
    PMO_L_OPAQUE = 5      /* defined in Python by _p_traverse & co. */
};

/* libpmemobj type numbers of allocations. */
enum {
    PMO_TN_POBJECT = 1,
    PMO_TN_LIST_ITEMS = 2,
    PMO_TN_DICT_TABLE = 3,
    PMO_TN_ZCT = 4,
    PMO_TN_USER = 16       /* first free for users' substructures */
};

/* Sizes of the stored structures, for Python code that needs them. */
enum {
    PMO_HEADER_SIZE = 16,
    PMO_MIN_POOL = 8388608
};

typedef struct pmo_pool pmo_pool;
/* A counter: the int under a str key of a dict, which the *_counted calls
 * add 1 to with each change they make (versioned writes: the counter is
 * the changed object's version).  Made once per counting function; one
 * argument instead of three per call. */
typedef struct pmo_counter pmo_counter;

/* A value handed back to Python.  kind is the slot kind; for a PMO_K_REF,
 * i is the offset, type/layout come from the header, and for a blob ptr
 * and len give a copy of its bytes, private to the calling thread and valid
 * until its next call (never the pool's memory: another thread may change,
 * free or unmap that as soon as the call returns).
 * Inline short str/bytes come back as a PMO_K_REF of type PMO_T_STR or
 * PMO_T_BYTES with i = 0. */
typedef struct {
    int32_t status;
    uint32_t type;
    uint32_t layout;
    uint32_t pinned;       /* not 0: pmo_unpin(pinned) once held */
    uint64_t kind;
    int64_t i;
    double f;
    const char *ptr;
    uint64_t len;
    int64_t pos;           /* position found, for iteration */
} pmo_out;

/* -- handles and pools (pool.c) ----------------------------------------- */
pmo_pool *pmo_handle_new(void);
void pmo_handle_free(pmo_pool *h);
int pmo_create(pmo_pool *h, const char *path, const char *layout,
               uint64_t size, uint32_t mode, uint64_t limit, int sds);
int pmo_open(pmo_pool *h, const char *path, const char *layout,
             uint64_t limit);
int pmo_close(pmo_pool *h);
int pmo_abandon(pmo_pool *h);
int pmo_probe(const char *path, const char *layout);
int pmo_is_open(pmo_pool *h);
void pmo_dontfork(pmo_pool *h);
int pmo_was_clean(pmo_pool *h);
uint64_t pmo_uuid_lo(pmo_pool *h);

/* -- errors (errors.c) and the build (build.py) ------------------------- */
const char *pmo_errmsg(void);
int pmo_errno(void);
/* a hash of the C sources and build.py this extension was built from:
 * pmemobj refuses a stale build at import */
const char *pmo_source_hash(void);

/* -- what a pool holds (stats.c) ----------------------------------------- */
int pmo_stats(pmo_pool *h, uint64_t *out4);
uint64_t pmo_layout_version(pmo_pool *h);
int64_t pmo_type_histogram(pmo_pool *h, uint64_t *out, uint64_t max);

/* -- the guard: holding, confinement, commits (guard.c) ------------------ */
int pmo_hold(pmo_pool *h);
void pmo_unhold(pmo_pool *h);
/* Confine the calling thread to pool h, read-only if read_only, until the
 * matching pop: calls on other pools, or writes, fail with PMO_ECONFINED.
 * h NULL lifts the confinement.  Nests; a nested one cannot widen. */
int pmo_confine_push(pmo_pool *h, int read_only);
void pmo_confine_pop(void);
void pmo_count_commits(pmo_pool *h, uint64_t *counter);

/* -- transactions (guard.c) ---------------------------------------------- */
int pmo_tx_begin(pmo_pool *h);
/* 0, or PMO_COLLECT from the outermost commit when objects wait in the
 * zero-count table, or a failure */
int pmo_tx_commit(pmo_pool *h);
int pmo_tx_abort(pmo_pool *h);
int pmo_tx_active(pmo_pool *h);

/* -- the pool root and the type table (root.c) --------------------------- */
pmo_out pmo_root_get(pmo_pool *h);
int pmo_root_set(pmo_pool *h, uint64_t kind, int64_t i, double f,
                 const char *data, size_t n);
int64_t pmo_type_table(pmo_pool *h);

/* -- objects (pobject.c) -------------------------------------------------- */
pmo_out pmo_ref(pmo_pool *h, uint64_t off);
int64_t pmo_refcount(pmo_pool *h, uint64_t off);
int pmo_incref(pmo_pool *h, uint64_t off);
int64_t pmo_decref(pmo_pool *h, uint64_t off);
int pmo_release(pmo_pool *h, uint64_t off);
int64_t pmo_new_object(pmo_pool *h, uint32_t type, uint32_t layout,
                       uint64_t body_size);
int64_t pmo_len(pmo_pool *h, uint64_t off);
int64_t pmo_children(pmo_pool *h, uint64_t off, int subs, uint64_t *buf,
                     uint64_t max);
int pmo_deallocate(pmo_pool *h, uint64_t off);

/* -- immutable values (value.c) ------------------------------------------- */
int64_t pmo_new_value(pmo_pool *h, uint64_t kind, int64_t i, double f,
                      const char *data, size_t n);
int64_t pmo_hash_bytes(uint64_t kind, const char *data, size_t n);

/* -- raw memory (mem.c), for MemoryManager -------------------------------- */
int64_t pmo_alloc(pmo_pool *h, uint64_t size, uint64_t type_num, int zero);
int64_t pmo_realloc(pmo_pool *h, uint64_t off, uint64_t size, int zero);
int pmo_free(pmo_pool *h, uint64_t off);
void *pmo_direct(pmo_pool *h, uint64_t off);
int pmo_snapshot(pmo_pool *h, void *ptr, uint64_t size);
int64_t pmo_type_num(pmo_pool *h, uint64_t off);

/* -- zero-count table (zct.c) --------------------------------------------- */
int pmo_gc_needed(pmo_pool *h);
int64_t pmo_zct_read(pmo_pool *h, uint64_t start, uint64_t *buf, uint64_t max);
int pmo_zct_remove(pmo_pool *h, uint64_t off);
int pmo_zct_push(pmo_pool *h, uint64_t off);

/* -- pins: objects handed to Python and not yet held there (handout.c) ---- */
/* an out with pinned != 0 pinned its object for this thread: once Python
 * holds it, pmo_unpin(pinned); pmo_unpin_all() drops this thread's pins */
void pmo_unpin(uint32_t pinned);
void pmo_unpin_all(void);
int pmo_pin_depth(void);
int pmo_is_pinned(pmo_pool *h, uint64_t off);

/* -- tuples (also frozensets and boxes): fixed slot arrays (tuple.c) ------ */
int64_t pmo_tuple_new(pmo_pool *h, uint32_t type, uint64_t n, int64_t hash);
int pmo_tuple_init(pmo_pool *h, uint64_t t, uint64_t idx, uint64_t kind,
                   int64_t i, double f, const char *data, size_t n);
pmo_out pmo_tuple_get(pmo_pool *h, uint64_t t, int64_t idx);

/* -- lists (list.c) --------------------------------------------------------- */
pmo_out pmo_list_get(pmo_pool *h, uint64_t l, int64_t idx);
int pmo_list_set(pmo_pool *h, uint64_t l, int64_t idx, uint64_t kind,
                 int64_t i, double f, const char *data, size_t n);
int pmo_list_insert(pmo_pool *h, uint64_t l, int64_t idx, uint64_t kind,
                    int64_t i, double f, const char *data, size_t n);
int pmo_list_append(pmo_pool *h, uint64_t l, uint64_t kind, int64_t i,
                    double f, const char *data, size_t n);
int pmo_list_append_counted(pmo_pool *h, uint64_t off, uint64_t kind, int64_t i,
                            double f, const char *data, size_t n,
                            pmo_counter *c);
int pmo_list_delete(pmo_pool *h, uint64_t l, int64_t start, int64_t stop);
int pmo_list_reserve(pmo_pool *h, uint64_t l, uint64_t cap);
int pmo_list_permute(pmo_pool *h, uint64_t l, const int64_t *perm,
                     uint64_t n);

/* -- dicts (also sets and PersistentObject attributes) (dict.c) ------------ */
pmo_counter *pmo_counter_new(uint64_t d, const char *key, size_t n);
void pmo_counter_free(pmo_counter *c);
pmo_out pmo_dict_get(pmo_pool *h, uint64_t d, uint64_t kkind, int64_t ki,
                     double kf, const char *kdata, size_t kn, int64_t khash);
int pmo_dict_set(pmo_pool *h, uint64_t d, uint64_t kkind, int64_t ki,
                 double kf, const char *kdata, size_t kn, int64_t khash,
                 uint64_t vkind, int64_t vi, double vf, const char *vdata,
                 size_t vn);
/* the same for str keys (UTF-8 bytes), the common case, with fewer
 * arguments to convert */
pmo_out pmo_dict_get_str(pmo_pool *h, uint64_t d, const char *kdata, size_t kn);
int pmo_dict_set_str(pmo_pool *h, uint64_t d, const char *kdata, size_t kn,
                     uint64_t vkind, int64_t vi, double vf, const char *vdata,
                     size_t vn);
pmo_out pmo_dict_add_int(pmo_pool *h, uint64_t d, const char *kdata, size_t kn,
                         int64_t delta);
int pmo_dict_set_str_counted(pmo_pool *h, uint64_t d, const char *kdata,
                             size_t kn, uint64_t vkind, int64_t vi, double vf,
                             const char *vdata, size_t vn, pmo_counter *c);
int pmo_dict_del(pmo_pool *h, uint64_t d, uint64_t kkind, int64_t ki,
                 double kf, const char *kdata, size_t kn, int64_t khash);
int pmo_dict_del_counted(pmo_pool *h, uint64_t d, uint64_t kkind, int64_t ki,
                         double kf, const char *kdata, size_t kn, int64_t khash,
                         pmo_counter *c);
int64_t pmo_dict_candidates(pmo_pool *h, uint64_t d, int64_t hash,
                            int64_t *out, uint64_t max);
pmo_out pmo_dict_key_at(pmo_pool *h, uint64_t d, int64_t pos);
pmo_out pmo_dict_value_at(pmo_pool *h, uint64_t d, int64_t pos);
int pmo_dict_set_at(pmo_pool *h, uint64_t d, int64_t pos, uint64_t vkind,
                    int64_t vi, double vf, const char *vdata, size_t vn);
int pmo_dict_insert_new(pmo_pool *h, uint64_t d, int64_t hash,
                        uint64_t kkind, int64_t ki, double kf,
                        const char *kdata, size_t kn, uint64_t vkind,
                        int64_t vi, double vf, const char *vdata, size_t vn);
int pmo_dict_del_at(pmo_pool *h, uint64_t d, int64_t pos);
int pmo_dict_clear(pmo_pool *h, uint64_t d);
int64_t pmo_dict_last(pmo_pool *h, uint64_t d);

/* -- garbage collection (gc.c) ---------------------------------------------- */
int pmo_gc_begin(pmo_pool *h);
int pmo_gc_mark(pmo_pool *h, uint64_t off, int is_pobject);
int pmo_gc_mark_zct(pmo_pool *h);
int64_t pmo_gc_next_opaque(pmo_pool *h);
int pmo_gc_sweep(pmo_pool *h, uint64_t *stats4);
void pmo_gc_end(pmo_pool *h);
int pmo_check(pmo_pool *h, uint64_t *stats4);

#endif
