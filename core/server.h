/* The HTTP server: one listening socket shared by `workers` threads, each with its own
 * event_base, evhttp and storage connection; and the request pipeline (route, path ids,
 * body, authentication, policy, handler, reply, access log).
 */
#ifndef NETTU_SERVER_H
#define NETTU_SERVER_H

#include <nettu/services.h>

#include "router.h"
#include "settings.h"

typedef struct server server;

#define SERVER_MAX_OBSERVERS 8

typedef struct server_observer {
    const nt_observer_v1 *ops;
    void *state;
} server_observer;

typedef struct server_deps {
    const router *router;
    const nt_store_v1 *store;
    void *store_state;
    const nt_authenticator_v1 *auth; /* may be NULL when no route needs it */
    void *auth_state;
    const nt_policy_v1 *policy; /* may be NULL when no route needs it */
    void *policy_state;
    server_observer observers[SERVER_MAX_OBSERVERS]; /* told about every request */
    int nobservers;
} server_deps;

/* Binds the listening socket and prepares the workers (one storage connection each).
 * Returns NULL after logging why. */
server *server_new(const settings *s, const server_deps *deps);

/* Starts the worker threads. NT_OK or NT_ERR. */
int server_start(server *srv);

/* Stops accepting, lets in-flight requests finish (up to the grace period), joins the
 * workers and closes their connections and the socket. */
void server_stop(server *srv);

/* Frees the server (after server_stop, or if never started). NULL is fine. */
void server_free(server *srv);

/* The bound port (useful with port 0 in tests). */
int server_port(const server *srv);

#endif
