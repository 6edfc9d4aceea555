/*
 * errors.c -- the calling thread's last failure: its message and errno.
 *
 * A failing call records its message here and returns a negative status;
 * Python reads the message right after (pmo_errmsg), in the same thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "core.h"

static __thread char err_msg[512];
static __thread int err_no;

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
