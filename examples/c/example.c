/*
 * A small program using libtrek: check a password, hash and verify it, seal and open a
 * secret, and issue and verify a session. Build against the static library:
 *
 *   cargo build --release -p trek-ffi
 *   cc -std=c11 -I include examples/c/example.c target/release/libtrek.a -lpthread -ldl -lm -o example
 */
#include "trek.h"

#include <stdio.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "example: %s failed: %s\n", what, trek_last_error_message());
    return 1;
}

int main(void) {
    printf("libtrek %s\n", trek_version());

    char *reason = NULL;
    if (trek_password_check("password", &reason) == TREK_POLICY_VIOLATION) {
        printf("refused \"password\": %s\n", reason);
        trek_string_free(reason);
    }

    char *hash = NULL;
    bool matches = false, needs_rehash = false;
    if (trek_password_hash("Tr3k!Tr3k", &hash) != TREK_OK) return fail("hash");
    if (trek_password_verify("Tr3k!Tr3k", hash, &matches, &needs_rehash) != TREK_OK || !matches) return fail("verify");
    trek_string_free(hash);

    const char *key = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6a7b8c9d0e1f2a3b4c5d6a7b8c9d0e1f2";
    char *stored = NULL, *opened = NULL;
    if (trek_secret_seal(key, TREK_SECRET_API_KEY, "sk-live-123", &stored) != TREK_OK) return fail("seal");
    if (trek_secret_open(key, TREK_SECRET_API_KEY, stored, &opened) != TREK_OK) return fail("open");
    printf("sealed as %.12s..., opened to %s\n", stored, opened);
    int same = strcmp(opened, "sk-live-123") == 0;
    trek_string_free(stored);
    trek_string_free(opened);
    if (!same) return fail("round trip");

    const char *secret = "969a7a826da8a3e8d3ca88ce7c7fa7bdc32916abf89af676ca07239e587ae801";
    char *token = NULL;
    int64_t user_id = 0, password_version = 0;
    if (trek_session_issue(secret, 7, 0, 1700000000, &token) != TREK_OK) return fail("issue");
    if (trek_session_verify(secret, token, 1700000100, &user_id, &password_version) != TREK_OK) return fail("session");
    trek_string_free(token);
    printf("session of user %lld at password version %lld\n", (long long)user_id, (long long)password_version);

    trek_rate_limiter *limiter = trek_rate_limiter_new(2, 60000);
    uint64_t retry_after = 0;
    for (int i = 0; i < 3; i++) {
        trek_result r = trek_rate_limiter_check(limiter, "198.51.100.7", 1000, &retry_after);
        printf("attempt %d: %s\n", i + 1, r == TREK_OK ? "allowed" : "limited");
    }
    trek_rate_limiter_free(limiter);

    printf("example: ok\n");
    return 0;
}
