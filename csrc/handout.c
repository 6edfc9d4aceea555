/*
 * handout.c -- values handed to Python: out_slot, the copy buffer, pins.
 *
 * A call that reads a value hands it to Python in a pmo_out and releases
 * the pool's lock before Python has used it.  By then another thread may
 * have changed or freed what the value came from, or closed the pool.  So
 * the bytes of a str or bytes value are copied into a buffer of the calling
 * thread (the stage), and an object handed out by reference is pinned for
 * the thread until Python holds it: a pinned object is not freed.
 */
#include <stdlib.h>

#include "core.h"

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

/* -- handing a slot out ------------------------------------------------------ */

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
