/* The work budget of computations over time data (see budget.h). */
#include "budget.h"

#include <stdio.h>
#include <time.h>

int64_t
ev_thread_cpu_us(void)
{
    struct timespec t;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0)
        return 0;
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

void
ev_budget_init(ev_budget *b, uint64_t max_steps, int64_t max_cpu_us, ev_budget_hook hook, void *arg)
{
    *b = (ev_budget){.max_steps = max_steps,
                     .max_cpu_us = max_cpu_us,
                     .hook = hook,
                     .arg = arg,
                     .next_look = EV_BUDGET_EVERY};
    if (max_cpu_us > 0)
        b->cpu0_us = ev_thread_cpu_us();
}

void
ev_budget_exclude(ev_budget *b, int64_t us)
{
    if (b != NULL && b->max_cpu_us > 0 && us > 0)
        b->cpu0_us += us;
}

int64_t
ev_budget_cpu_us(const ev_budget *b)
{
    return ev_thread_cpu_us() - b->cpu0_us;
}

/* Looks at the CPU cap and asks the hook. */
static int
ev_budget_look(ev_budget *b)
{
    int rc;

    if (b->max_cpu_us > 0 && ev_budget_cpu_us(b) > b->max_cpu_us)
        return EV_STOP_LIMIT;
    if (b->hook == NULL)
        return EV_GO;
    rc = b->hook(b->arg);
    if (rc == EV_GO || rc == EV_STOP_GONE)
        return rc;
    return EV_STOP_BUDGET;
}

int
ev_budget_charge(ev_budget *b, uint64_t n)
{
    if (b == NULL)
        return EV_GO;
    if (b->stop != EV_GO)
        return b->stop;
    b->steps += n;
    if (b->max_steps > 0 && b->steps > b->max_steps) {
        b->by_steps = 1;
        b->stop = EV_STOP_LIMIT;
    } else if (b->steps >= b->next_look) {
        b->next_look = b->steps + EV_BUDGET_EVERY;
        b->stop = ev_budget_look(b);
    }
    return b->stop;
}

void
ev_budget_describe(const ev_budget *b, char *buf, size_t len)
{
    if (b->by_steps)
        snprintf(buf, len, "more than %llu steps", (unsigned long long)b->max_steps);
    else if (b->max_cpu_us % 1000 != 0)
        snprintf(buf, len, "more than %lld us of CPU", (long long)b->max_cpu_us);
    else
        snprintf(buf, len, "more than %lld ms of CPU", (long long)(b->max_cpu_us / 1000));
}
