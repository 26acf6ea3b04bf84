/* The health route (GET /api/v1/ answers {"message": ...}), built into the host so liveness never
 * depends on a plugin. */
#ifndef NETTU_HEALTH_H
#define NETTU_HEALTH_H

#include "router.h"

/* Registers GET /api/v1/ and GET /api/v1 (public). NT_OK or the router's error. */
int health_register(router *r);

#endif
