/* Policy validation and the allow/reject algorithm; no host, no state. */
#include "policy_rules.h"

#include <string.h>

static const char *const pol_perms[] = {
    "*",
    "CreateCalendar",
    "DeleteCalendar",
    "UpdateCalendar",
    "CreateCalendarEvent",
    "DeleteCalendarEvent",
    "UpdateCalendarEvent",
    "CreateSchedule",
    "UpdateSchedule",
    "DeleteSchedule",
    NULL,
};

int
policy_perm_known(const char *s)
{
    if (s == NULL)
        return 0;
    for (size_t i = 0; pol_perms[i] != NULL; i++) {
        if (strcmp(s, pol_perms[i]) == 0)
            return 1;
    }
    return 0;
}

/* The list `key` of policy, or NULL when the policy has none (absent or JSON null).
 * Borrowed from policy. */
static const json_t *
pol_list(const json_t *policy, const char *key)
{
    const json_t *v = json_is_object(policy) ? json_object_get(policy, key) : NULL;

    return json_is_null(v) ? NULL : v;
}

/* NT_OK when `list` is NULL or an array of known permission strings, else NT_EINVAL. */
static int
pol_list_validate(const json_t *list)
{
    size_t i;
    const json_t *v;

    if (list == NULL)
        return NT_OK;
    if (!json_is_array(list))
        return NT_EINVAL;
    json_array_foreach(list, i, v)
    {
        if (!json_is_string(v) || !policy_perm_known(json_string_value(v)))
            return NT_EINVAL;
    }
    return NT_OK;
}

int
policy_rules_validate(const json_t *policy)
{
    if (policy == NULL || json_is_null(policy))
        return NT_OK;
    if (!json_is_object(policy))
        return NT_EINVAL;
    if (pol_list_validate(pol_list(policy, "allow")) != NT_OK)
        return NT_EINVAL;
    return pol_list_validate(pol_list(policy, "reject"));
}

/* 1 when the (validated) array `list` holds the string `perm`, else 0. */
static int
pol_list_has(const json_t *list, const char *perm)
{
    size_t i;
    const json_t *v;

    json_array_foreach(list, i, v)
    {
        if (strcmp(json_string_value(v), perm) == 0)
            return 1;
    }
    return 0;
}

int
policy_rules_check(const json_t *policy, const char *const *required)
{
    const json_t *allow, *reject;

    if (required == NULL || required[0] == NULL)
        return NT_OK; /* step 1: nothing required */
    if (policy_rules_validate(policy) != NT_OK)
        return NT_EUNAUTH;
    allow = pol_list(policy, "allow");
    reject = pol_list(policy, "reject");
    if (reject != NULL) { /* step 2 */
        if (pol_list_has(reject, "*"))
            return NT_EUNAUTH;
        for (size_t i = 0; required[i] != NULL; i++) {
            if (pol_list_has(reject, required[i]))
                return NT_EUNAUTH;
        }
    }
    if (allow == NULL) /* step 4 */
        return NT_EUNAUTH;
    if (pol_list_has(allow, "*")) /* step 3 */
        return NT_OK;
    for (size_t i = 0; required[i] != NULL; i++) {
        if (!pol_list_has(allow, required[i]))
            return NT_EUNAUTH;
    }
    return NT_OK;
}
