/* Reminder delivery: a thread of the events plugin, with its own
 * storage connection, wakes at every tick boundary B (a wall-clock minute; [events]
 * reminder_tick_ms shortens it for tests) and, in write transactions of at most
 * EV_DELIVER_CLAIM reminders each, deletes the pending reminders with remindAt < B and queues one
 * "reminders" delivery per account (at most EV_DELIVER_BATCH reminders each) through the "webhooks"
 * service. A reminder is thus sent between its remindAt and one tick later, never early. The delete
 * is the claim, in a claim transaction (db_begin_claim): on SQLite two instances serialize on the
 * write lock; on PostgreSQL each locks the due rows it reads with FOR UPDATE SKIP LOCKED, so they
 * take disjoint reminders, and a reminder deleted by one is not seen by the other. Without the
 * webhooks service, due reminders are dropped with one warning. Every [events] reminder_followup_ms
 * (30 min) the thread also runs the due follow-up jobs of recurring events.
 */
#include "ev.h"
#include "ntc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EV_DELIVER_BATCH 100 /* reminders in one delivery */
#define EV_DELIVER_CLAIM 500 /* reminders claimed in one write transaction */

struct ev_deliver {
    ev_plugin *p;
    nt_db *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;   /* under mu */
    int warned; /* the thread's own */
};

/* The delivery being built for one account. */
typedef struct ev_batch {
    char account[NT_UUID_BUF];
    json_t *reminders, *events;
    size_t n;
} ev_batch;

static void
ev_batch_reset(ev_batch *b)
{
    json_decref(b->reminders);
    json_decref(b->events);
    memset(b, 0, sizeof(*b));
}

/* Queues b (when it holds reminders) through the webhooks service and empties it. */
static int
ev_batch_flush(struct ev_deliver *d, ev_batch *b)
{
    ev_plugin *p = d->p;
    char id[NT_UUID_BUF];
    json_t *payload;
    int rc = NT_OK;

    if (b->n > 0 && p->webhooks != NULL) {
        payload = json_pack("{s:O,s:O}", "reminders", b->reminders, "events", b->events);
        rc = payload != NULL ? p->webhooks->enqueue(p->webhooks_state, d->db, b->account,
                                                    "reminders", payload, id)
                             : NT_ENOMEM;
        json_decref(payload);
    } else if (b->n > 0 && !d->warned) {
        d->warned = 1;
        p->api->log(p->self, NT_LOG_WARN,
                    "the webhooks service is not loaded: due reminders are dropped");
    }
    ev_batch_reset(b);
    return rc;
}

/* Adds the reminder `identifier` of event `event_id` (of account) to b, flushing b first when
 * it belongs to another account or is full. */
static int
ev_batch_add(struct ev_deliver *d, ev_batch *b, const char *account, const char *event_id,
             const char *identifier)
{
    const nt_host_api *api = d->p->api;
    ev_event e = {0};
    json_t *ej = NULL;
    int rc = NT_OK;

    if (b->n > 0 && (strcmp(b->account, account) != 0 || b->n == EV_DELIVER_BATCH))
        rc = ev_batch_flush(d, b);
    if (rc != NT_OK)
        return rc;
    if (b->n == 0) {
        ev_batch_reset(b); /* arrays left by an add that failed (NT_ENOTFOUND) */
        if (strlen(account) >= sizeof(b->account))
            return NT_ERR;
        memcpy(b->account, account, strlen(account) + 1);
        b->reminders = json_array();
        b->events = json_array();
    }
    rc = ev_store_load(api, d->db, event_id, account, NULL, &e);
    if (rc == NT_OK)
        ej = ev_event_json(&e);
    if (rc == NT_OK &&
        (ej == NULL || b->reminders == NULL || b->events == NULL ||
         json_array_append_new(
             b->reminders, json_pack("{s:O,s:s}", "event", ej, "identifier", identifier)) != 0 ||
         json_array_append(b->events, ej) != 0))
        rc = NT_ENOMEM;
    if (rc == NT_OK)
        b->n++;
    json_decref(ej);
    ev_event_clear(&e);
    return rc;
}

/* One reminder claimed by ev_deliver_round: the columns that name its row. */
typedef struct ev_claimed {
    char event_id[NT_UUID_BUF];
    char *identifier; /* malloc'd */
    int64_t remind_at;
} ev_claimed;

/* The due reminders; on PostgreSQL with NTC_SKIP_LOCKED appended. */
#define EV_DUE_SQL                                                                                 \
    "SELECT account_id, event_id, identifier, remind_at FROM events_reminders "                    \
    "WHERE remind_at < $1 ORDER BY account_id, remind_at LIMIT $2"

/* Claims (deletes) at most EV_DELIVER_CLAIM of the reminders due before `boundary` and queues
 * them, in one write transaction, so that a minute with very many reminders never holds the
 * write lock for long. Sets *n to the number claimed. NT_OK or the first error (then nothing
 * is claimed). */
static int
ev_deliver_round(struct ev_deliver *d, int64_t boundary, ev_claimed *c, size_t *n)
{
    const nt_host_api *api = d->p->api;
    nt_stmt *st = NULL;
    ev_batch b = {0};
    int rc = ntc_begin_claim(api, d->db), step = 0;

    *n = 0;
    if (rc != NT_OK)
        return rc;
    rc =
        ntc_prepare(api, d->db, &st, ntc_skip_locked(api) ? EV_DUE_SQL NTC_SKIP_LOCKED : EV_DUE_SQL,
                    "ii", boundary, (int64_t)EV_DELIVER_CLAIM);
    while (rc == NT_OK && (step = api->db_step(st)) == 1) {
        const char *ev = api->db_col_text(st, 1), *ident = api->db_col_text(st, 2);

        if (strlen(ev) >= sizeof(c[*n].event_id)) {
            rc = NT_ERR; /* cannot happen: event ids are UUIDs */
            break;
        }
        if ((c[*n].identifier = strdup(ident)) == NULL) {
            rc = NT_ENOMEM;
            break;
        }
        memcpy(c[*n].event_id, ev, strlen(ev) + 1);
        c[*n].remind_at = api->db_col_int64(st, 3);
        (*n)++;
        rc = ev_batch_add(d, &b, api->db_col_text(st, 0), ev, ident);
        if (rc == NT_ENOTFOUND)
            rc = NT_OK; /* cannot happen: a reminder goes with its event (cascade) */
    }
    if (rc == NT_OK && step < 0)
        rc = step;
    api->db_finalize(st);
    if (rc == NT_OK)
        rc = ev_batch_flush(d, &b);
    /* Each delete must take its row: one another claim took meanwhile (it cannot while the
     * row is locked, but correctness does not rest on the lock) undoes this whole round,
     * the deliveries queued above included. */
    for (size_t i = 0; rc == NT_OK && i < *n; i++) {
        rc = ntc_exec_changed(api, d->db,
                              "DELETE FROM events_reminders WHERE event_id = $1 AND "
                              "remind_at = $2 AND identifier = $3",
                              "tit", c[i].event_id, c[i].remind_at, c[i].identifier);
        if (rc == NT_ENOTFOUND)
            rc = NT_ERETRY;
    }
    ev_batch_reset(&b);
    for (size_t i = 0; i < *n; i++)
        free(c[i].identifier);
    if (rc == NT_OK)
        rc = api->db_commit(d->db);
    if (rc != NT_OK) {
        api->db_rollback(d->db);
        *n = 0;
    }
    return rc;
}

/* Claims and queues every reminder due before `boundary`, EV_DELIVER_CLAIM per transaction
 * (other writers get the lock between them), until none is left or the thread is stopped. */
static int
ev_deliver_due(struct ev_deliver *d, int64_t boundary)
{
    ev_claimed *c = malloc(EV_DELIVER_CLAIM * sizeof(*c));
    size_t n = EV_DELIVER_CLAIM;
    int rc = c != NULL ? NT_OK : NT_ENOMEM, stop = 0;

    while (rc == NT_OK && n == EV_DELIVER_CLAIM && !stop) {
        rc = ev_deliver_round(d, boundary, c, &n);
        pthread_mutex_lock(&d->mu);
        stop = d->stop;
        pthread_mutex_unlock(&d->mu);
    }
    free(c);
    return rc;
}

/* Runs the follow-up job of one event: its reminders computed again from now on,
 * written only when no update replaced them since the job was read (version). */
static int
ev_followup_one(struct ev_deliver *d, const char *event_id, const char *account, int64_t version,
                int64_t now)
{
    const ev_plugin *p = d->p;
    const nt_host_api *api = p->api;
    ev_event e = {0};
    ev_cal cal = {0};
    ev_rem_plan pl = {0};
    int rc = ev_store_load(api, d->db, event_id, account, NULL, &e);

    if (rc == NT_OK)
        rc = ev_cal_load(p, d->db, e.calendar_id, account, NULL, &cal);
    if (rc == NT_OK)
        rc = ev_rem_plan_bg(p, &e, &cal, now, &pl);
    if (rc == NT_OK && (rc = api->db_begin(d->db)) == NT_OK) {
        rc = ev_rem_replace(api, d->db, &e, &pl, version);
        if (rc == NT_OK)
            rc = api->db_commit(d->db);
        if (rc != NT_OK)
            api->db_rollback(d->db);
        if (rc == EV_CHANGED)
            rc = NT_OK; /* an update replaced them meanwhile: its reminders stand */
    }
    if (rc == NT_ENOTFOUND)
        rc = NT_OK; /* deleted meanwhile: its job went with it */
    if (rc != NT_OK)
        api->log(p->self, NT_LOG_ERROR, "reminders of event %s: the follow-up failed (%d)",
                 event_id, rc);
    ev_rem_plan_clear(&pl);
    ev_cal_clear(&cal);
    ev_event_clear(&e);
    return rc;
}

/* Runs the follow-up jobs due at now (at most 100 a round; the rest next round). */
static void
ev_followups(struct ev_deliver *d, int64_t now)
{
    const nt_host_api *api = d->p->api;
    nt_stmt *st = NULL;
    json_t *jobs = json_array();
    size_t i;
    json_t *j;
    int rc, step = 0;

    rc = jobs != NULL ? ntc_prepare(api, d->db, &st,
                                    "SELECT event_id, account_id, version FROM "
                                    "events_reminder_jobs WHERE next_at IS NOT NULL AND "
                                    "next_at <= $1 ORDER BY next_at LIMIT 100",
                                    "i", now)
                      : NT_ENOMEM;
    while (rc == NT_OK && (step = api->db_step(st)) == 1)
        if (json_array_append_new(jobs, json_pack("[s?,s?,I]", api->db_col_text(st, 0),
                                                  api->db_col_text(st, 1),
                                                  (json_int_t)api->db_col_int64(st, 2))) != 0)
            rc = NT_ENOMEM;
    api->db_finalize(st);
    if (rc != NT_OK || step < 0)
        api->log(d->p->self, NT_LOG_ERROR, "reminder follow-ups: cannot read the due jobs");
    json_array_foreach(jobs, i, j)
    {
        const char *ev = json_string_value(json_array_get(j, 0));
        const char *acc = json_string_value(json_array_get(j, 1));

        if (ev != NULL && acc != NULL)
            ev_followup_one(d, ev, acc, json_integer_value(json_array_get(j, 2)), now);
    }
    json_decref(jobs);
}

/* Waits until wall-clock ms `until` or stop; 1 when asked to stop. */
static int
ev_deliver_wait(struct ev_deliver *d, int64_t until)
{
    struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
    int stop;

    pthread_mutex_lock(&d->mu);
    while (!d->stop && pthread_cond_timedwait(&d->cv, &d->mu, &ts) != ETIMEDOUT)
        ;
    stop = d->stop;
    pthread_mutex_unlock(&d->mu);
    return stop;
}

/* The thread: at every tick boundary, the reminders due before it. */
static void *
ev_deliver_main(void *arg)
{
    struct ev_deliver *d = arg;
    const nt_host_api *api = d->p->api;
    int64_t tick = d->p->reminder_tick_ms, next_followup = 0;
    struct timespec now;
    int64_t boundary;

    clock_gettime(CLOCK_REALTIME, &now);
    boundary = ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000) / tick * tick + tick;
    while (!ev_deliver_wait(d, boundary)) {
        int rc = ev_deliver_due(d, boundary);

        if (rc != NT_OK)
            api->log(d->p->self, rc == NT_ERETRY ? NT_LOG_INFO : NT_LOG_ERROR,
                     "reminders due before %lld: not delivered this tick (%d; retried next "
                     "tick)",
                     (long long)boundary, rc);
        if (boundary >= next_followup) {
            clock_gettime(CLOCK_REALTIME, &now);
            ev_followups(d, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
            next_followup = boundary + d->p->reminder_followup_ms;
        }
        boundary += tick;
        clock_gettime(CLOCK_REALTIME, &now);
        /* after a long stall, catch up at once rather than once per missed tick */
        if (boundary + tick <= (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000)
            boundary = ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000) / tick * tick;
    }
    return NULL;
}

int
ev_deliver_start(ev_plugin *p)
{
    const nt_host_api *api = p->api;
    struct ev_deliver *d = calloc(1, sizeof(*d));
    char err[256] = "";

    if (d == NULL)
        return NT_ENOMEM;
    d->p = p;
    p->webhooks =
        api->service_lookup(p->self, NT_SERVICE_WEBHOOKS, NULL, NT_WEBHOOKS_V1, &p->webhooks_state);
    if (p->webhooks != NULL &&
        (p->webhooks->size < NT_WEBHOOKS_V1_SIZE_1_3 || p->webhooks->enqueue == NULL))
        p->webhooks = NULL;
    if (p->webhooks == NULL)
        api->log(p->self, NT_LOG_WARN,
                 "no webhooks service: reminders are generated but not delivered");
    if ((d->db = api->db_open(p->self, err, sizeof(err))) == NULL) {
        api->init_error(p->self, "cannot open a storage connection for reminders: %s", err);
        free(d);
        return NT_ERR;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    if (pthread_create(&d->thread, NULL, ev_deliver_main, d) != 0) {
        api->init_error(p->self, "cannot start the reminder thread");
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        api->db_close(d->db);
        free(d);
        return NT_ERR;
    }
    (void)pthread_setname_np(d->thread, "nettu-reminders"); /* for top -H; cosmetic */
    p->deliver = d;
    return NT_OK;
}

void
ev_deliver_stop(ev_plugin *p)
{
    struct ev_deliver *d = p != NULL ? p->deliver : NULL;

    if (d == NULL)
        return;
    pthread_mutex_lock(&d->mu);
    d->stop = 1;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    p->api->db_close(d->db);
    free(d);
    p->deliver = NULL;
}
