/* policy plugin: provides the "policy" service named "nettu", the permission
 * check the core runs for end-user routes. Stateless; the [policy] section has no keys.
 */
#include <nettu/services.h>

#include "policy_rules.h"

/* nt_policy_v1.validate: see policy_rules_validate(). */
static int
pol_validate(void *state, const json_t *policy)
{
    (void)state;
    return policy_rules_validate(policy);
}

/* nt_policy_v1.check: see policy_rules_check(). */
static int
pol_check(void *state, const json_t *policy, const char *const *required)
{
    (void)state;
    return policy_rules_check(policy, required);
}

static const nt_policy_v1 pol_ops = {
    .size = sizeof(nt_policy_v1),
    .validate = pol_validate,
    .check = pol_check,
};

/* Checks the (empty) section and provides the service. No state: *state is set to NULL. */
static int
pol_init(nt_plugin *p, const nt_host_api *api, const nt_config *cfg, void **state)
{
    static const char *const known[] = {NULL};
    int rc;

    *state = NULL;
    rc = api->cfg_check_keys(p, cfg, known);
    if (rc != NT_OK)
        goto out;
    rc = api->service_provide(p, NT_SERVICE_POLICY, "nettu", NT_POLICY_V1, &pol_ops, NULL);
    if (rc != NT_OK)
        api->init_error(p, "cannot provide service %s/nettu (code %d)", NT_SERVICE_POLICY, rc);
out:
    return rc;
}

static const nt_plugin_desc pol_desc = {
    NT_PLUGIN_HEADER,
    .name = "policy",
    .version = "1.0.0",
    .init = pol_init,
};

NT_PLUGIN_DEFINE(pol_desc)
