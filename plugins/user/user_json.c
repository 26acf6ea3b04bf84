/* The User wire object and the one-key reply envelopes. */
#include "user.h"

json_t *
usr_wrap(const char *name, json_t *value)
{
    json_t *o = json_object();

    if (o == NULL || value == NULL || json_object_set_new(o, name, value) != 0) {
        json_decref(o);
        if (o == NULL)
            json_decref(value);
        return NULL;
    }
    return o;
}

json_t *
usr_json(const char *id, const char *metadata_text)
{
    json_t *user = json_pack("{s:s}", "id", id);
    json_t *meta = ntc_meta_parse(metadata_text);

    if (user == NULL || meta == NULL || json_object_set_new(user, "metadata", meta) != 0) {
        if (user == NULL)
            json_decref(meta);
        json_decref(user);
        return NULL;
    }
    return user;
}
