/* The HTTP server: one listening socket shared by `workers` threads, each with its own event
 * loop, connections (http_conn.c), request pipeline (pipeline.c) and storage connection.
 */
#ifndef NETTU_SERVER_H
#define NETTU_SERVER_H

#include <nettu/services.h>

#include "pipeline.h"
#include "router.h"
#include "settings.h"

typedef struct server server;

/* Binds the listening socket and prepares the workers (one storage connection each).
 * Returns NULL after logging why. */
server *server_new(const settings *s, const server_deps *deps);

/* Starts the worker threads. NT_OK or NT_ERR. */
int server_start(server *srv);

/* Stops accepting, lets in-flight requests finish (up to the grace period), joins the
 * workers and closes their connections and the socket. */
void server_stop(server *srv);

/* After server_stop: the connections that had a request in flight when shutdown began, and
 * how many of them were still unfinished when shutdown_grace_ms was over (closed). */
void server_stop_counts(const server *srv, int *busy, int *cut);

/* Frees the server (after server_stop, or if never started). NULL is fine. */
void server_free(server *srv);

/* The bound port (useful with port 0 in tests). */
int server_port(const server *srv);

#endif
