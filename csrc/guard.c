/*
 * guard.c -- the guard around every call, and explicit transactions.
 *
 * libpmemobj calls abort() when a transactional function runs in the wrong
 * stage; every entry point checks the stage first and returns a status
 * instead.  Transactions are per thread in libpmemobj, so the handle's
 * recursive mutex is held by the thread running one from begin to end:
 * other threads wait instead of writing into it.  Besides the lock and the
 * stage, the guard refuses a pool the thread is confined away from
 * (pmo_confine_push) and publishes each committed write to the handle's
 * commit counter, if one is set.
 */
#include <errno.h>

#include "core.h"

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

/* Refuse a pool the thread is confined away from (see pmo_confine_push);
 * this check is what lets a caller's hot calls skip context checks of
 * their own. */
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
int need_tx(pmo_pool *h)
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

/* Whether the calling thread runs a transaction of h (a pool must not be
 * closed inside its own). */
int in_own_tx(pmo_pool *h)
{
    return tx_owner == h && pmemobj_tx_stage() != TX_STAGE_NONE;
}

/* In a child after fork: the parent's pools are not the child's. */
void guard_after_fork_child(void)
{
    confined_to = NULL;
    confined_ro = 0;
    confine_depth = 0;
}

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
    return in_own_tx(h) ? tx_depth : 0;
}
