/*
 * core.h -- the C core's internal header: the stored structures, the pool
 * handle, and what the C files share, grouped by the file that defines it
 * (the small checks every file runs are inline here).
 *
 * Every stored structure is made of 8-byte fields so that its layout is
 * the same whatever the compiler; offsets are relative to the pool base.
 */
#ifndef PMO_CORE_H
#define PMO_CORE_H

#include <libpmemobj.h>
#include <pthread.h>
#include <string.h>
#include <sys/types.h>

#include "pmo.h"

#define PMO_MAGIC "PMOPY\0\0\1"
#define PMO_VERSION 1

/* One stored value: an immediate (None, bool, int64, double, a short str
 * or bytes) or a reference to a PObject. */
typedef struct {
    uint64_t kind;
    uint64_t bits;
} pmo_slot;

/* Every PObject starts with this header; the magic lets a damaged
 * reference be told from an object before anything trusts it. */
struct pmo_hdr {
    uint64_t refcnt;
    uint32_t type;
    uint16_t layout;
    uint16_t magic;
};

#define PMO_HDR_MAGIC 0x5A3C

/* Every substructure (list items, dict table, zct) starts with this: the
 * magic and the offset of its owner, checked before it is used or freed,
 * since libpmemobj crashes freeing a wild pointer. */
struct pmo_sub {
    uint64_t magic;
    uint64_t owner;
};

#define PMO_SUB_MAGIC 0x31425553504d4f50ULL

struct pmo_blob {          /* str, bytes, big int, complex, pickle */
    struct pmo_hdr hdr;
    uint64_t len;
    int64_t hash;
    char data[];           /* len bytes and a NUL */
};

struct pmo_tuple {         /* tuple, frozenset, box, PersistentTuple */
    struct pmo_hdr hdr;
    uint64_t n;
    int64_t hash;
    pmo_slot items[];
};

struct pmo_list {
    struct pmo_hdr hdr;
    uint64_t len;
    uint64_t cap;
    uint64_t items;        /* substructure of cap slots, or 0 */
};

struct pmo_entry {
    int64_t hash;
    pmo_slot key;          /* PMO_K_EMPTY marks a deleted entry */
    pmo_slot value;
};

/* Compact ordered hash table, as CPython's dict: a table block holds
 * nindex int64 indexes (EMPTY, DUMMY or an entry number) followed by cap
 * entries in insertion order. */
struct pmo_dict {
    struct pmo_hdr hdr;
    uint64_t used;         /* live entries */
    uint64_t filled;       /* entries written, live or deleted */
    uint64_t cap;          /* entries the table block holds */
    uint64_t nindex;       /* power of two, or 0 with no table */
    uint64_t table;        /* offset of the table block, or 0 */
};

#define IX_EMPTY (-1)
#define IX_DUMMY (-2)

struct pmo_root {
    char magic[8];
    uint64_t version;
    uint64_t clean;        /* 1 while the pool is closed cleanly */
    uint64_t gc_needed;    /* garbage exists outside the zct: collect */
    pmo_slot user_root;
    pmo_slot types;        /* list of class paths: the type table */
    uint64_t zct;          /* offset of the zero-count table array */
    uint64_t zct_len;
    uint64_t zct_cap;
    uint64_t reserved[13];
};

struct gc_state;

struct pmo_pool {
    PMEMobjpool *pop;
    struct pmo_pool *next_open;   /* the list of open pools (maps_lock) */
    pthread_mutex_t lock;  /* recursive; held through a transaction */
    uint64_t limit;        /* offsets at or past this are corrupt */
    uint64_t uuid_lo;
    uint64_t opened;       /* unique per open in this process (names pins) */
    struct pmo_root *root;
    int was_clean;
    int pushed;            /* the current operation filled the zct */
    unsigned forks;        /* fork count when opened: a forked child must
                              not use or close the parent's pool */
    struct gc_state *gc;
    uint64_t *commits;     /* bumped after each committed write, if set */
    int wrote;             /* the running transaction changed something */
    void *logged_count;    /* a counter the running transaction logged */
};

#define SHORT_MAX 8
#define SLOT_KIND(k) ((k) & 0xff)
#define SLOT_SHORT_LEN(k) ((k) >> 8)

/* What Python passes in for a value. */
typedef struct {
    uint64_t kind;
    int64_t i;
    double f;
    const char *data;
    size_t n;
} pmo_in;

/* Everything below is internal: hidden from other modules in the process
 * even where a file is compiled without -fvisibility=hidden.  Only the
 * pmo_ interface (pmo.h) is called from outside the C core, and only by
 * cffi's module compiled into the same object. */
#pragma GCC visibility push(hidden)

/* -- errors (errors.c) -- */
int pmo_fail(int status, const char *fmt, ...);
int pmo_fail_pmdk(int status, const char *what);

/* -- the guard (guard.c): lock, closed check, confinement, transaction
 * unless one runs -- */
int op_enter(pmo_pool *h, int *own);
int op_leave(pmo_pool *h, int own, int status);
int read_enter(pmo_pool *h);
void read_leave(pmo_pool *h);
int need_tx(pmo_pool *h);
int in_own_tx(pmo_pool *h);
void guard_after_fork_child(void);

/* -- the pool's life (pool.c) -- */
/* Bumped in a child after fork: pools the parent opened (h->forks below
 * it) are not the child's to use. */
extern unsigned forks;

/* -- memory (mem.c, and the checks inline here) -- */
static inline void *P(pmo_pool *h, uint64_t off)
{
    return (char *)h->pop + off;
}

static inline uint64_t OFF(pmo_pool *h, const void *p)
{
    return (uint64_t)((const char *)p - (const char *)h->pop);
}

/* Whether size bytes at off lie inside the pool (past its first page,
 * 8-aligned): every offset read from the pool is checked so before use. */
static inline int off_ok(pmo_pool *h, uint64_t off, uint64_t size)
{
    return off >= 4096 && (off & 7) == 0 && off < h->limit &&
           size <= h->limit - off;
}

void *sub_data(pmo_pool *h, uint64_t off, uint64_t size, uint64_t owner);
uint64_t sub_round(uint64_t size);
int sub_alloc(pmo_pool *h, uint64_t size, uint64_t type_num, uint64_t owner,
              uint64_t *off, void **data);
int snap(void *p, size_t size);
int touch(void *p, size_t size);
int tx_alloc(pmo_pool *h, uint64_t size, uint64_t type_num, int zero,
             uint64_t *off);
int tx_free(pmo_pool *h, uint64_t off);

/* -- PObjects (pobject.c, and the header check inline here) -- */
static inline int valid_layout(uint32_t layout)
{
    return layout >= PMO_L_BLOB && layout <= PMO_L_OPAQUE;
}

/* The header at off, or NULL if off does not lead to one. */
static inline struct pmo_hdr *hdr_at(pmo_pool *h, uint64_t off)
{
    if (!off_ok(h, off, sizeof(struct pmo_hdr)))
        return NULL;
    struct pmo_hdr *hd = P(h, off);
    return hd->magic == PMO_HDR_MAGIC && valid_layout(hd->layout) &&
           hd->type != 0 ? hd : NULL;
}

void init_hdr(struct pmo_hdr *hd, uint32_t type, uint32_t layout,
              uint64_t refcnt);
int corrupt_ref(uint64_t off);
int incref(pmo_pool *h, uint64_t off);
int decref(pmo_pool *h, uint64_t off);

/* -- traversal (pobject.c), shared by release and the collector -- */
typedef int (*slot_visit)(pmo_pool *h, pmo_slot *s, void *arg);
typedef int (*sub_visit)(pmo_pool *h, uint64_t off, void *arg);
int traverse(pmo_pool *h, uint64_t off, slot_visit vs, sub_visit vsub,
             void *arg);

/* -- values (value.c) -- */
int check_in(pmo_pool *h, const pmo_in *in);
int store_value(pmo_pool *h, const pmo_in *in, pmo_slot *dst);
int drop_slot(pmo_pool *h, const pmo_slot *s);
int64_t hash_bytes(uint64_t kind, const char *data, size_t n);

/* -- values handed to Python (handout.c) -- */
pmo_out out_slot(pmo_pool *h, const pmo_slot *s);
/* objects handed to Python and not yet held there */
int pinned(pmo_pool *h, uint64_t off);
void pins_visit(pmo_pool *h, void (*visit)(uint64_t off, void *arg), void *arg);
void pins_before_fork(void);
void pins_after_fork(void);
void pins_after_fork_child(void);

/* -- the zero-count table (zct.c) -- */
int zct_array(pmo_pool *h, uint64_t **a);
int zct_push(pmo_pool *h, uint64_t off);

/* -- tuples (tuple.c) -- */
int new_tuple(pmo_pool *h, uint32_t type, uint64_t n, int64_t hash,
              uint64_t *off);

/* -- dicts (dict.c): entries, used by traverse; change counters -- */
struct pmo_entry *dict_entries(pmo_pool *h, struct pmo_dict *d);
struct pmo_counter {
    uint64_t dict;         /* offset of the dict */
    int64_t pos;           /* entry it was found at last (a hint, checked) */
    size_t n;
    char key[];            /* UTF-8, n bytes */
};

int count_change(pmo_pool *h, int own, pmo_counter *c);

/* -- the collector (gc.c) -- */
void gc_free_state(pmo_pool *h);

#pragma GCC visibility pop

#endif
