/* Group commit for one worker (see group.h). */
#include "group.h"

#include <stdio.h>

#include "log.h"
#include "util.h"

/* The worker's store, when it offers group commit (ABI 1.5 members). */
static const nt_store_v1 *
group_store_ok(const nt_store_v1 *st)
{
    if (st == NULL || !NT_HAS_MEMBER(st, nt_store_v1, group_pending) || st->group_open == NULL ||
        st->group_close == NULL || st->group_pending == NULL)
        return NULL;
    return st;
}

/* Runs when the worker has nothing else to do, and when the first held reply is too old. */
static void
group_on_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    group_flush(arg);
}

int
group_init(worker *w, const nt_store_v1 *store, int64_t group_us)
{
    w->grp_us = 0;
    w->grp_store = group_store_ok(store);
    if (group_us <= 0 || w->db == NULL || w->grp_store == NULL)
        return NT_OK;
    w->grp_idle = event_new(w->base, -1, 0, group_on_event, w);
    w->grp_timer = evtimer_new(w->base, group_on_event, w);
    if (w->grp_idle == NULL || w->grp_timer == NULL ||
        event_priority_set(w->grp_idle, GROUP_PRIORITIES - 1) != 0) {
        group_free(w);
        return NT_ENOMEM;
    }
    w->grp_us = group_us;
    return NT_OK;
}

void
group_free(worker *w)
{
    if (w == NULL)
        return;
    if (w->grp_idle != NULL)
        event_free(w->grp_idle);
    if (w->grp_timer != NULL)
        event_free(w->grp_timer);
    w->grp_idle = w->grp_timer = NULL;
    w->grp_us = 0;
    memo_clear(&w->grp_memo);
}

group_memo *
group_before(void *arg, int groupable)
{
    worker *w = arg;
    struct timeval tv;

    if (w->grp_us <= 0)
        return NULL;
    if (!groupable) {
        group_flush(w);
        return NULL;
    }
    if (w->grp)
        return &w->grp_memo;
    if (w->grp_store->group_open(w->db) != NT_OK) {
        w->grp_store->clear_error(w->db);
        return NULL; /* the request runs as a transaction of its own */
    }
    w->grp = 1;
    /* The group holds the process's write turn from now on, written to or not: it ends when
     * the worker is idle or grp_us after it opened (without the timer: after this request). */
    w->grp_t0_us = util_mono_us();
    tv.tv_sec = (time_t)(w->grp_us / 1000000);
    tv.tv_usec = (suseconds_t)(w->grp_us % 1000000);
    w->grp_late = event_add(w->grp_timer, &tv) != 0;
    event_active(w->grp_idle, EV_TIMEOUT, 0);
    return &w->grp_memo;
}

int
group_pending(worker *w)
{
    return w->grp && w->grp_store->group_pending(w->db);
}

void
group_held(worker *w)
{
    w->grp_held++;
    if (w->grp_late || w->grp_held >= GROUP_MAX_HELD || util_mono_us() - w->grp_t0_us >= w->grp_us)
        group_flush(w);
}

void
group_flush(worker *w)
{
    const nt_store_v1 *st = w->grp_store;
    int held = w->grp_held, code = NT_OK;

    if (!w->grp)
        return;
    w->grp = 0;
    w->grp_held = 0;
    w->grp_late = 0;
    event_del(w->grp_idle);
    event_del(w->grp_timer);
    code = st->group_close(w->db);
    memo_clear(&w->grp_memo); /* what it kept may change once the write lock is given up */
    if (code == NT_OK) {
        http_conn_release_held(w, 1, NULL);
        return;
    }
    snprintf(w->grp_why, sizeof(w->grp_why),
             "storage: the commit of this request's writes, made together with those of other "
             "requests, failed (%s); nothing of it was written; retry",
             st->errmsg(w->db));
    log_msg(NT_LOG_ERROR, NULL, "group commit of %d request(s) failed: %s; answered 503", held,
            st->errmsg(w->db));
    st->clear_error(w->db);
    if (w->obuf.len > 0)
        w->grp_fail_cur = 1;
    http_conn_release_held(w, 0, w->grp_why);
}
