/*
 * pool.c -- handles and a pool's life in the process: create, open, close,
 * and what fork() does to an open pool.
 *
 * Opening checks or sets up our root structure and marks the pool as not
 * closed cleanly until the close.  A child made by fork() must not use nor
 * close the pools its parent opened: their mappings are kept out of the
 * child (MADV_DONTFORK), their address ranges stay reserved there, and
 * every entry point refuses them (h->forks).
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "core.h"

/* -- fork() ----------------------------------------------------------------- */

/* Bumped in a child after fork: pools the parent opened are not the
 * child's to use (nor are their locks, which another thread may hold). */
unsigned forks;

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
    guard_after_fork_child();   /* no confinement to the parent's pools */
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
 * close and reopen that otherwise takes 1.5.  Keep some top padding
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
    if (in_own_tx(h)) {
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
int pmo_was_clean(pmo_pool *h) { return h->was_clean; }
uint64_t pmo_uuid_lo(pmo_pool *h) { return h->uuid_lo; }
