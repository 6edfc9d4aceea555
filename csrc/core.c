/*
 * core.c -- pool handles, errors, the transaction guard, raw memory.
 *
 * libpmemobj calls abort() when a transactional function runs in the wrong
 * stage; every entry point here checks the stage first and returns a
 * status instead.  Transactions are per thread in libpmemobj, so the
 * handle's recursive mutex is held by the thread running one from begin to
 * end: other threads wait instead of writing into it.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"

static __thread char err_msg[512];
static __thread int err_no;
static __thread pmo_pool *tx_owner;   /* pool of this thread's transaction */
static __thread int tx_depth;         /* explicit transactions it nests */
static __thread pmo_pool *confined_to; /* the one pool this thread may use */
static __thread int confined_ro;       /* ... and only to read */
#define CONFINE_DEPTH 64
static __thread struct outer_confinement {
    pmo_pool *to;
    int ro;
} confine_stack[CONFINE_DEPTH];        /* the enclosing confinements */
static __thread int confine_depth;

int pmo_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    return status;
}

int pmo_fail_pmdk(int status, const char *what)
{
    err_no = errno;
    /* libpmemobj's message can be stale from an earlier failure; for a
     * full pool errno says it plainly */
    const char *m = pmemobj_errormsg();
    if (err_no == ENOMEM || !m || !*m)
        m = strerror(err_no);
    return pmo_fail(status, "%s: %s", what, m);
}

const char *pmo_errmsg(void) { return err_msg; }
int pmo_errno(void) { return err_no; }

/* -- the guard around every operation ------------------------------------ */

/* Tell watchers (other processes polling a shared counter) that a write
 * committed. */
static void published(pmo_pool *h)
{
    if (h->commits != NULL)
        __atomic_add_fetch(h->commits, 1, __ATOMIC_RELEASE);
}

static int begin_own(pmo_pool *h)
{
    if (pmemobj_tx_begin(h->pop, NULL, TX_PARAM_NONE) != 0)
        return pmo_fail_pmdk(PMO_ETXFAIL, "transaction begin");
    pmemobj_tx_set_failure_behavior(POBJ_TX_FAILURE_RETURN);
    h->logged_count = NULL;
    return 0;
}

/* Bumped in a child after fork: pools the parent opened are not the
 * child's to use (nor are their locks, which another thread may hold). */
static unsigned forks;

/* Held while a handle's mapping comes or goes, so that madvise never
 * touches memory the pool no longer maps; and across fork(), so that a
 * child never starts with it held. */
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static pmo_pool *open_pools;   /* opened in this process; under maps_lock */

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* In a child, the parent's pool mappings are gone (MADV_DONTFORK, below)
 * but libpmemobj still has them registered by address: a pool the child
 * opens must not be mapped there, or libpmemobj refuses it (EEXIST).  Keep
 * the ranges taken, with inaccessible memory. */
static void reserve_parent_ranges(void)
{
    for (pmo_pool *h = open_pools; h != NULL; h = h->next_open) {
        void *p = mmap((void *)h->pop, h->limit, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
                       MAP_FIXED_NOREPLACE, -1, 0);
        if (p != MAP_FAILED && p != (void *)h->pop)
            munmap(p, h->limit);   /* an old kernel took it as a hint */
    }
    open_pools = NULL;   /* none is the child's */
}

static void before_fork(void)
{
    pthread_mutex_lock(&maps_lock);
    pins_before_fork();
}

static void after_fork_parent(void)
{
    pins_after_fork();
    pthread_mutex_unlock(&maps_lock);
}

static void after_fork_child(void)
{
    forks++;
    confined_to = NULL;   /* the parent's pools are not the child's */
    confined_ro = 0;
    confine_depth = 0;
    reserve_parent_ranges();
    pins_after_fork_child();
    pthread_mutex_unlock(&maps_lock);
}

__attribute__((constructor)) static void watch_forks(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Keep the pool's mapping out of children made by fork(): the mapping
 * references the open pool file, and with it libpmemobj's lock on it, so a
 * child holding it would keep the pool locked after the parent closed it.
 * Again before each fork: a grown pool maps new parts. */
static void dontfork(pmo_pool *h)
{
    if (h->pop != NULL && h->forks == forks)
        madvise((void *)h->pop, h->limit, MADV_DONTFORK);
}

void pmo_dontfork(pmo_pool *h)
{
    pthread_mutex_lock(&maps_lock);
    dontfork(h);
    pthread_mutex_unlock(&maps_lock);
}

static int lock_open(pmo_pool *h)
{
    if (h->forks != forks)
        return pmo_fail(PMO_ECLOSED, "the pool was opened by the parent "
                        "process");
    pthread_mutex_lock(&h->lock);
    if (h->pop == NULL) {
        pthread_mutex_unlock(&h->lock);
        return pmo_fail(PMO_ECLOSED, "the pool is closed");
    }
    return 0;
}

/* Refuse a pool the thread is confined away from (see pmo_confine); this
 * check is what lets parkit's hot calls skip their own context checks. */
static int check_confined(pmo_pool *h, int write)
{
    if (confined_to == NULL || (confined_to == h && !(write && confined_ro)))
        return 0;
    return pmo_fail(PMO_ECONFINED, confined_to != h
                    ? "this thread is confined to another pool"
                    : "this thread may only read this pool");
}

int pmo_confine_push(pmo_pool *h, int read_only)
{
    if (confine_depth == CONFINE_DEPTH)
        return pmo_fail(PMO_EINVAL, "confinements nested too deep");
    if (h != NULL && confined_to != NULL && confined_to != h)
        return pmo_fail(PMO_ECONFINED, "this thread is confined to another pool");
    confine_stack[confine_depth].to = confined_to;
    confine_stack[confine_depth].ro = confined_ro;
    confine_depth++;
    confined_ro = h != NULL && (read_only || (confined_to == h && confined_ro));
    confined_to = h;
    return 0;
}

void pmo_confine_pop(void)
{
    if (confine_depth > 0) {
        confine_depth--;
        confined_to = confine_stack[confine_depth].to;
        confined_ro = confine_stack[confine_depth].ro;
    }
}

/* Lock the pool and make sure a transaction of this pool runs: begin one
 * (*own = 1) when none does, join the thread's running one otherwise. */
int op_enter(pmo_pool *h, int *own)
{
    *own = 0;
    int st = lock_open(h);
    if (st)
        return st;
    if ((st = check_confined(h, 1)) != 0) {
        pthread_mutex_unlock(&h->lock);
        return st;
    }
    enum pobj_tx_stage stage = pmemobj_tx_stage();
    if (stage == TX_STAGE_NONE) {
        st = begin_own(h);
        if (st) {
            pthread_mutex_unlock(&h->lock);
            return st;
        }
        tx_owner = h;
        h->pushed = 0;
        *own = 1;
        return 0;
    }
    if (tx_owner != h)
        st = pmo_fail(PMO_EOTHERTX, "this thread is inside a transaction "
                      "of another pool");
    else if (stage != TX_STAGE_WORK)
        st = pmo_fail(PMO_EABORTED, "the transaction was aborted by an "
                      "earlier failure; leave its block first");
    if (st)
        pthread_mutex_unlock(&h->lock);
    return st;
}

/* End an operation: failures at or below PMO_EFAIL abort the transaction
 * (the caller's too, since a half-done step must never commit); an own
 * transaction commits on success. */
int op_leave(pmo_pool *h, int own, int status)
{
    if (!own && status >= 0)
        h->wrote = 1;   /* the enclosing transaction changed something */
    if (status <= PMO_EFAIL && pmemobj_tx_stage() == TX_STAGE_WORK)
        pmemobj_tx_abort(ECANCELED);
    if (own) {
        if (pmemobj_tx_stage() == TX_STAGE_WORK) {
            if (status < 0) {
                pmemobj_tx_abort(ECANCELED);
            } else {
                pmemobj_tx_commit();
                if (pmemobj_tx_stage() != TX_STAGE_ONCOMMIT)
                    status = pmo_fail_pmdk(PMO_ETXFAIL, "commit");
                else
                    published(h);
            }
        }
        pmemobj_tx_end();
        tx_owner = NULL;
        if (status == PMO_OK && h->pushed)
            status = PMO_COLLECT;
    }
    pthread_mutex_unlock(&h->lock);
    return status;
}

int read_enter(pmo_pool *h)
{
    int st = lock_open(h);
    if (st == 0 && (st = check_confined(h, 0)) != 0)
        pthread_mutex_unlock(&h->lock);
    return st;
}

void read_leave(pmo_pool *h)
{
    pthread_mutex_unlock(&h->lock);
}

/* An explicit transaction must already run (alloc, free, snapshot). */
static int need_tx(pmo_pool *h)
{
    int st = lock_open(h);
    if (st)
        return st;
    if ((st = check_confined(h, 1)) != 0) {
        pthread_mutex_unlock(&h->lock);
        return st;
    }
    if (pmemobj_tx_stage() != TX_STAGE_WORK || tx_owner != h) {
        pthread_mutex_unlock(&h->lock);
        return pmo_fail(PMO_ENOTX, "this call needs a running transaction "
                        "of this pool");
    }
    h->wrote = 1;
    return 0;
}

/* -- memory helpers --------------------------------------------------------- */

int off_ok(pmo_pool *h, uint64_t off, uint64_t size)
{
    return off >= 4096 && (off & 7) == 0 && off < h->limit &&
           size <= h->limit - off;
}

/* The data of the substructure at off, of size bytes, owned by owner; NULL
 * if the offset does not lead to one (damaged data). */
void *sub_data(pmo_pool *h, uint64_t off, uint64_t size, uint64_t owner)
{
    if (size > h->limit || !off_ok(h, off, sizeof(struct pmo_sub) + size))
        return NULL;
    struct pmo_sub *s = P(h, off);
    return s->magic == PMO_SUB_MAGIC && s->owner == owner ? s + 1 : NULL;
}

/* libpmemobj serves small sizes from runs, one run per size class, and a
 * run keeps its chunks while any unit of it is used; growing arrays
 * through many classes strands chunks (an 8 MiB pool has about 15).  From
 * 64 KiB up, arrays take whole 256 KiB chunks instead, which return to the
 * common free list.  Returns the data size to ask for (>= size). */
#define CHUNK (256 * 1024ULL)
#define ROUND_FROM (64 * 1024ULL)
#define CHUNK_SLACK 64   /* libpmemobj's header and ours fit in it */

uint64_t sub_round(uint64_t size)
{
    if (size < ROUND_FROM || size > PMEMOBJ_MAX_ALLOC_SIZE)
        return size;
    uint64_t total = size + CHUNK_SLACK;
    return (total + CHUNK - 1) / CHUNK * CHUNK - CHUNK_SLACK;
}

/* A fresh substructure of size bytes for owner, in the transaction. */
int sub_alloc(pmo_pool *h, uint64_t size, uint64_t type_num, uint64_t owner,
              uint64_t *off, void **data)
{
    int st = tx_alloc(h, sizeof(struct pmo_sub) + size, type_num, 0, off);
    if (st)
        return st;
    struct pmo_sub *s = P(h, *off);
    s->magic = PMO_SUB_MAGIC;
    s->owner = owner;
    *data = s + 1;
    return 0;
}

static int pmdk_status(void)
{
    return errno == ENOMEM ? PMO_ENOMEM : PMO_ETXFAIL;
}

int snap(void *p, size_t size)
{
    if (pmemobj_tx_xadd_range_direct(p, size, POBJ_XADD_NO_ABORT) != 0)
        return pmo_fail_pmdk(pmdk_status(), "snapshot");
    return 0;
}

/* Register memory written without a snapshot (past a length) so commit
 * flushes it. */
int touch(void *p, size_t size)
{
    if (pmemobj_tx_xadd_range_direct(p, size,
            POBJ_XADD_NO_SNAPSHOT | POBJ_XADD_NO_ABORT) != 0)
        return pmo_fail_pmdk(pmdk_status(), "flush range");
    return 0;
}

int tx_alloc(pmo_pool *h, uint64_t size, uint64_t type_num, int zero,
             uint64_t *off)
{
    uint64_t flags = POBJ_XALLOC_NO_ABORT | (zero ? POBJ_XALLOC_ZERO : 0);
    if (size == 0 || size > PMEMOBJ_MAX_ALLOC_SIZE)
        return pmo_fail(PMO_ENOMEM, "cannot allocate %llu bytes",
                        (unsigned long long)size);
    PMEMoid oid = pmemobj_tx_xalloc(size, type_num, flags);
    if (OID_IS_NULL(oid))
        return pmo_fail_pmdk(pmdk_status(), "allocation");
    (void)h;
    *off = oid.off;
    return 0;
}

int tx_free(pmo_pool *h, uint64_t off)
{
    PMEMoid oid = {h->uuid_lo, off};
    if (pmemobj_tx_xfree(oid, POBJ_XFREE_NO_ABORT) != 0)
        return pmo_fail_pmdk(pmdk_status(), "free");
    return 0;
}

/* -- handles and pools ------------------------------------------------------ */

pmo_pool *pmo_handle_new(void)
{
    pmo_pool *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&h->lock, &a);
    pthread_mutexattr_destroy(&a);
    return h;
}

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

void pmo_handle_free(pmo_pool *h)
{
    if (h == NULL)
        return;
    pmo_close(h);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* libpmemobj allocates about 8 MiB of run-time state at each open and
 * frees it at close.  glibc gives the top of its heap back to the kernel
 * on such frees, and the next open faults it all in again: 3-4 ms of a
 * parkit hand-off that otherwise takes 1.5.  Keep some top padding
 * instead (address space, resident only once used), unless the user
 * tuned it through glibc's own variable. */
static void keep_heap_top(void)
{
    static int done;
    if (!done) {
        done = 1;
        if (getenv("MALLOC_TOP_PAD_") == NULL)
            mallopt(M_TOP_PAD, 16 << 20);
    }
}

/* Check or set up our root structure on a freshly opened pool. */
static int attach(pmo_pool *h, PMEMobjpool *pop, uint64_t limit)
{
    size_t have = pmemobj_root_size(pop);
    if (have != 0 && have < sizeof(struct pmo_root))
        return pmo_fail(PMO_ECORRUPT, "the pool's root object is too small "
                        "for a pmemobj pool (%zu bytes)", have);
    PMEMoid r = pmemobj_root(pop, sizeof(struct pmo_root));
    if (OID_IS_NULL(r))
        return pmo_fail_pmdk(PMO_ENOMEM, "root object");
    struct pmo_root *root = pmemobj_direct(r);
    static const char zero[8];
    if (memcmp(root->magic, zero, 8) == 0) {
        /* new pool, or one whose creation was cut short */
        root->version = PMO_VERSION;
        root->clean = 1;
        pmemobj_persist(pop, &root->version, 16);
        memcpy(root->magic, PMO_MAGIC, 8);
        pmemobj_persist(pop, root->magic, 8);
    } else if (memcmp(root->magic, PMO_MAGIC, 8) != 0) {
        return pmo_fail(PMO_ECORRUPT, "the pool's root object has a foreign "
                        "signature");
    } else if (root->version > PMO_VERSION) {
        return pmo_fail(PMO_ECORRUPT, "the pool was written by a newer "
                        "version (layout %llu)",
                        (unsigned long long)root->version);
    }
    pthread_mutex_lock(&maps_lock);
    h->pop = pop;
    h->root = root;
    h->uuid_lo = r.pool_uuid_lo;
    static uint64_t opens;
    h->opened = __atomic_add_fetch(&opens, 1, __ATOMIC_RELAXED);
    h->limit = limit;
    h->forks = forks;
    h->next_open = open_pools;
    open_pools = h;
    dontfork(h);
    pthread_mutex_unlock(&maps_lock);
    h->was_clean = root->clean == 1;
    root->clean = 0;
    pmemobj_persist(pop, &root->clean, sizeof(root->clean));
    return 0;
}

static int finish_open(pmo_pool *h, PMEMobjpool *pop, uint64_t limit)
{
    int st = attach(h, pop, limit);
    if (st)
        pmemobj_close(pop);   /* attach failed before publishing pop */
    pthread_mutex_unlock(&h->lock);
    return st;
}

/* sds = 0 creates the pool without unsafe-shutdown tracking: it guards
 * against NVDIMM power failures, which emulated pmem does not survive
 * anyway, and costs several msyncs at every open and close. */
static PMEMobjpool *create_sds(const char *path, const char *layout,
                               uint64_t size, uint32_t mode, int sds)
{
    int off = 0, on = 1;
    if (sds)
        return pmemobj_create(path, layout, size, mode);
    if (pmemobj_ctl_set(NULL, "sds.at_create", &off) != 0)
        return pmemobj_create(path, layout, size, mode);
    PMEMobjpool *pop = pmemobj_create(path, layout, size, mode);
    int saved = errno;
    pmemobj_ctl_set(NULL, "sds.at_create", &on);
    errno = saved;
    return pop;
}

int pmo_create(pmo_pool *h, const char *path, const char *layout,
               uint64_t size, uint32_t mode, uint64_t limit, int sds)
{
    pthread_mutex_lock(&h->lock);
    if (h->pop) {
        pthread_mutex_unlock(&h->lock);
        return pmo_fail(PMO_EINVAL, "handle already holds a pool");
    }
    errno = 0;
    keep_heap_top();
    PMEMobjpool *pop = create_sds(path, layout, size, mode, sds);
    if (pop == NULL && sds && errno != EEXIST && errno != ENOENT &&
        errno != EACCES && errno != EINVAL && errno != ENOSPC) {
        /* in VMs unsafe-shutdown detection can refuse the create */
        pop = create_sds(path, layout, size, mode, 0);
    }
    if (pop == NULL) {
        int st = pmo_fail_pmdk(PMO_EOS, "cannot create pool");
        pthread_mutex_unlock(&h->lock);
        return st;
    }
    return finish_open(h, pop, limit);
}

int pmo_open(pmo_pool *h, const char *path, const char *layout,
             uint64_t limit)
{
    pthread_mutex_lock(&h->lock);
    if (h->pop) {
        pthread_mutex_unlock(&h->lock);
        return pmo_fail(PMO_EINVAL, "handle already holds a pool");
    }
    errno = 0;
    keep_heap_top();
    PMEMobjpool *pop = pmemobj_open(path, layout);
    if (pop == NULL) {
        int st = pmo_fail_pmdk(PMO_EOS, "cannot open pool");
        pthread_mutex_unlock(&h->lock);
        return st;
    }
    return finish_open(h, pop, limit);
}

/* Open and close a pool with libpmemobj alone, touching nothing of ours:
 * run in a child process to learn whether opening it would crash. */
int pmo_probe(const char *path, const char *layout)
{
    PMEMobjpool *pop = pmemobj_open(path, layout);
    if (pop == NULL)
        return pmo_fail_pmdk(PMO_EOS, "cannot open pool");
    pmemobj_close(pop);
    return 0;
}

void gc_free_state(pmo_pool *h);

static int close_pool(pmo_pool *h, int mark_clean);

int pmo_close(pmo_pool *h) { return close_pool(h, 1); }

/* Close a pool whose opening failed half-way: not marked clean, so the next
 * open does again what this one could not. */
int pmo_abandon(pmo_pool *h) { return close_pool(h, 0); }

static int close_pool(pmo_pool *h, int mark_clean)
{
    if (h->forks != forks) {
        /* inherited through fork: the mapping is the parent's to close */
        h->pop = NULL;
        h->root = NULL;
        return 0;
    }
    pthread_mutex_lock(&h->lock);
    if (h->pop == NULL) {
        pthread_mutex_unlock(&h->lock);
        return 0;
    }
    if (tx_owner == h && pmemobj_tx_stage() != TX_STAGE_NONE) {
        pthread_mutex_unlock(&h->lock);
        return pmo_fail(PMO_ENOTX, "cannot close a pool inside its own "
                        "transaction");
    }
    gc_free_state(h);
    if (mark_clean) {
        h->root->clean = 1;
        pmemobj_persist(h->pop, &h->root->clean, sizeof(h->root->clean));
    }
    pthread_mutex_lock(&maps_lock);
    for (pmo_pool **p = &open_pools; *p != NULL; p = &(*p)->next_open)
        if (*p == h) {
            *p = h->next_open;
            break;
        }
    pmemobj_close(h->pop);
    h->pop = NULL;
    h->root = NULL;
    h->commits = NULL;
    pthread_mutex_unlock(&maps_lock);
    pthread_mutex_unlock(&h->lock);
    return 0;
}

int pmo_is_open(pmo_pool *h) { return h->pop != NULL && h->forks == forks; }

/* Keep other threads' operations out, and the pool open, while the caller
 * works across several calls (a consistent read of several values; closing:
 * the last collection and the close as one step). */
int pmo_hold(pmo_pool *h) { return lock_open(h); }
void pmo_unhold(pmo_pool *h) { pthread_mutex_unlock(&h->lock); }

void pmo_count_commits(pmo_pool *h, uint64_t *counter)
{
    pthread_mutex_lock(&h->lock);
    h->commits = counter;
    pthread_mutex_unlock(&h->lock);
}
int pmo_was_clean(pmo_pool *h) { return h->was_clean; }
uint64_t pmo_uuid_lo(pmo_pool *h) { return h->uuid_lo; }

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

/* -- explicit transactions ---------------------------------------------------- */

int pmo_tx_begin(pmo_pool *h)
{
    int st = lock_open(h);
    if (st)
        return st;
    enum pobj_tx_stage stage = pmemobj_tx_stage();
    if (stage != TX_STAGE_NONE && tx_owner != h)
        st = pmo_fail(PMO_EOTHERTX, "this thread is inside a transaction "
                      "of another pool");
    else if (stage != TX_STAGE_NONE && stage != TX_STAGE_WORK)
        st = pmo_fail(PMO_EABORTED, "the enclosing transaction was aborted");
    else
        st = begin_own(h);
    if (st) {
        pthread_mutex_unlock(&h->lock);
        return st;
    }
    if (stage == TX_STAGE_NONE) {
        tx_owner = h;
        h->pushed = 0;
        h->wrote = 0;
    }
    tx_depth++;
    return 0;   /* the lock stays held until commit or abort */
}

static int tx_finish(pmo_pool *h, int commit)
{
    if (h->forks != forks)   /* a child ending its parent's transaction */
        return pmo_fail(PMO_ECLOSED, "the pool was opened by the parent "
                        "process");
    if (tx_owner != h || pmemobj_tx_stage() == TX_STAGE_NONE)
        return pmo_fail(PMO_ENOTX, "no transaction of this pool runs in "
                        "this thread");
    int st = 0;
    enum pobj_tx_stage stage = pmemobj_tx_stage();
    if (stage == TX_STAGE_WORK) {
        if (commit) {
            pmemobj_tx_commit();
            if (pmemobj_tx_stage() != TX_STAGE_ONCOMMIT)
                st = pmo_fail_pmdk(PMO_EABORTED, "commit");
        } else {
            pmemobj_tx_abort(ECANCELED);
        }
    } else if (commit && stage == TX_STAGE_ONABORT) {
        st = pmo_fail(PMO_EABORTED, "the transaction was aborted by an "
                      "earlier failure and was rolled back");
    }
    pmemobj_tx_end();
    tx_depth--;
    if (pmemobj_tx_stage() == TX_STAGE_NONE) {
        tx_owner = NULL;
        if (st == 0 && commit && h->wrote)
            published(h);
        /* the outermost commit tells Python that garbage waits */
        if (st == 0 && commit && h->pushed)
            st = PMO_COLLECT;
    }
    pthread_mutex_unlock(&h->lock);
    return st;
}

int pmo_tx_commit(pmo_pool *h) { return tx_finish(h, 1); }
int pmo_tx_abort(pmo_pool *h) { return tx_finish(h, 0); }

/* How many explicit transactions of this pool the thread is inside. */
int pmo_tx_active(pmo_pool *h)
{
    return tx_owner == h && pmemobj_tx_stage() != TX_STAGE_NONE ? tx_depth : 0;
}

/* -- raw memory for Python-defined types --------------------------------------- */

static int raw_oid_ok(pmo_pool *h, uint64_t off)
{
    if (!off_ok(h, off, 8))
        return pmo_fail(PMO_EINVAL, "oid offset %llu is not inside the pool",
                        (unsigned long long)off);
    return 0;
}

int64_t pmo_alloc(pmo_pool *h, uint64_t size, uint64_t type_num, int zero)
{
    int st = need_tx(h);
    if (st)
        return st;
    uint64_t off = 0;
    st = tx_alloc(h, size, type_num, zero, &off);
    if (st <= PMO_EFAIL)
        pmemobj_tx_abort(ECANCELED);
    pthread_mutex_unlock(&h->lock);
    return st ? st : (int64_t)off;
}

int64_t pmo_realloc(pmo_pool *h, uint64_t off, uint64_t size, int zero)
{
    int st = need_tx(h);
    if (st)
        return st;
    st = raw_oid_ok(h, off);
    PMEMoid oid = {h->uuid_lo, off};
    if (!st && size == 0)
        st = pmo_fail(PMO_EINVAL, "realloc to zero bytes; use free");
    if (!st) {
        uint64_t tn = pmemobj_type_num(oid);
        PMEMoid n = zero ? pmemobj_tx_zrealloc(oid, size, tn)
                         : pmemobj_tx_realloc(oid, size, tn);
        if (OID_IS_NULL(n)) {
            st = pmo_fail_pmdk(pmdk_status(), "realloc");
            pmemobj_tx_abort(ECANCELED);
        } else {
            off = n.off;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return st ? st : (int64_t)off;
}

int pmo_free(pmo_pool *h, uint64_t off)
{
    int st = need_tx(h);
    if (st)
        return st;
    st = raw_oid_ok(h, off);
    if (!st)
        st = tx_free(h, off);
    if (st <= PMO_EFAIL)
        pmemobj_tx_abort(ECANCELED);
    pthread_mutex_unlock(&h->lock);
    return st;
}

void *pmo_direct(pmo_pool *h, uint64_t off)
{
    if (read_enter(h))
        return NULL;
    void *p = off_ok(h, off, 8) ? P(h, off) : NULL;
    if (p == NULL)
        pmo_fail(PMO_EINVAL, "oid offset %llu is not inside the pool",
                 (unsigned long long)off);
    read_leave(h);
    return p;
}

int pmo_snapshot(pmo_pool *h, void *ptr, uint64_t size)
{
    int st = need_tx(h);
    if (st)
        return st;
    uint64_t off = (uint64_t)((char *)ptr - (char *)h->pop);
    if ((char *)ptr < (char *)h->pop || !off_ok(h, off & ~7ULL, size))
        st = pmo_fail(PMO_EINVAL, "range is not inside the pool");
    else
        st = snap(ptr, size);
    if (st <= PMO_EFAIL)
        pmemobj_tx_abort(ECANCELED);
    pthread_mutex_unlock(&h->lock);
    return st;
}

int64_t pmo_type_num(pmo_pool *h, uint64_t off)
{
    int st = read_enter(h);
    if (st)
        return st;
    st = raw_oid_ok(h, off);
    int64_t r = st ? st : (int64_t)pmemobj_type_num((PMEMoid){h->uuid_lo, off});
    read_leave(h);
    return r;
}
