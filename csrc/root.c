/*
 * root.c -- the pool root: the user's root value and the type table.
 *
 * Both are slots of our root structure (struct pmo_root), which pool.c
 * checks or sets up at open.
 */
#include "core.h"

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
