/* SHA-256 with a once-fetched EVP_MD. */
#include "ntc_sha256.h"

#include <pthread.h>

#include <nettu/plugin.h>

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void
sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* Runs when the plugin holding this copy is unloaded (dlclose) or the process exits. */
__attribute__((destructor)) static void
sha256_release(void)
{
    EVP_MD_free(sha256_md);
    sha256_md = NULL;
}

const EVP_MD *
ntc_sha256_md(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md;
}

int
ntc_sha256(const void *data, size_t len, unsigned char out[32])
{
    const EVP_MD *md = ntc_sha256_md();
    unsigned int n = 0;

    if (md == NULL || EVP_Digest(data, len, out, &n, md, NULL) != 1 || n != 32)
        return NT_ERR;
    return NT_OK;
}
