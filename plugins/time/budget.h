/* The work budget of a computation over stored time data (recurrence expansion today; slot
 * searches in the schedule and service plugins later). Pure code: no host. A computation
 * charges "steps" (one per candidate date, iterator repositioning or produced instance) to an
 * ev_budget; every EV_BUDGET_EVERY steps the budget looks at its own caps and asks the
 * caller's hook, so a plugin stops its loop as soon as the request has used its CPU budget or
 * its client has gone.
 *
 * Typical use in a plugin (the hook maps the host's req_check to EV_STOP_*):
 *
 *     static int hook(void *req) { switch (api->req_check(req)) { ... } }
 *     ev_budget b;
 *     ev_budget_init(&b, 0, 0, hook, req);        // no caps of its own: the host's budget
 *     opts.budget = &b;
 *     rc = ev_expand(&s, &opts, &list, err, sizeof(err));
 *     // rc EV_EXPAND_EBUDGET / EV_EXPAND_EGONE: stop with NT_EBUDGET / NT_EGONE
 *
 * One budget can be shared by every expansion of a request; it is not thread-safe (one
 * request, one thread). Nothing is allocated: an ev_budget lives on the stack or in a
 * request's state.
 */
#ifndef EV_BUDGET_H
#define EV_BUDGET_H

#include <stddef.h>
#include <stdint.h>

/* What ev_budget_charge() and the hook answer. */
enum {
    EV_GO = 0,          /* go on */
    EV_STOP_LIMIT = 1,  /* one of the budget's own caps (max_steps, max_cpu_us) is reached */
    EV_STOP_BUDGET = 2, /* the hook: the caller's budget (the request's CPU time) is used up */
    EV_STOP_GONE = 3    /* the hook: the caller no longer wants the answer (client closed) */
};

/* How many steps pass between two looks at the caps and the hook. A step costs about 2 to
 * 6 us of CPU with libical and ICU, so the hook runs every 0.3 to 1 ms: often enough for a
 * budget of tens of ms, rarely enough that its clock read (a system call in a VM) costs
 * nothing measurable. */
#define EV_BUDGET_EVERY 128

/* The caller's hook: EV_GO, EV_STOP_BUDGET or EV_STOP_GONE (any other value counts as
 * EV_STOP_BUDGET). */
typedef int (*ev_budget_hook)(void *arg);

typedef struct ev_budget {
    uint64_t steps;      /* steps charged so far */
    uint64_t max_steps;  /* 0: no cap */
    int64_t max_cpu_us;  /* 0: no cap; thread CPU time allowed since ev_budget_init() */
    ev_budget_hook hook; /* NULL: none */
    void *arg;           /* handed to hook */
    /* private */
    int64_t cpu0_us;
    uint64_t next_look;
    int stop;     /* sticky: the first EV_STOP_* seen */
    int by_steps; /* EV_STOP_LIMIT came from max_steps (else from max_cpu_us) */
} ev_budget;

/* Sets b up with its caps (0 = none) and hook (NULL = none); starts its CPU clock. */
void ev_budget_init(ev_budget *b, uint64_t max_steps, int64_t max_cpu_us, ev_budget_hook hook,
                    void *arg);

/* Leaves `us` microseconds of CPU time already spent out of b's CPU cap (one-time work that
 * is not the computation's, such as opening a library at its first use). b NULL: nothing. */
void ev_budget_exclude(ev_budget *b, int64_t us);

/* Charges n steps. EV_GO, or why the computation must stop; once stopped, every later call
 * answers the same (so nested loops all unwind). b NULL: always EV_GO. */
int ev_budget_charge(ev_budget *b, uint64_t n);

/* The thread CPU time in microseconds since ev_budget_init(). */
int64_t ev_budget_cpu_us(const ev_budget *b);

/* The calling thread's CPU time in microseconds (CLOCK_THREAD_CPUTIME_ID). */
int64_t ev_thread_cpu_us(void);

/* Writes which cap stopped b (after EV_STOP_LIMIT) into buf: "more than 20 ms of CPU" or
 * "more than 400000 steps". */
void ev_budget_describe(const ev_budget *b, char *buf, size_t len);

#endif /* EV_BUDGET_H */
