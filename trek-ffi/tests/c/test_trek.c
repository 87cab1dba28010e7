/*
 * The C API test: every function, every error path, and every case of the shared vectors,
 * through nothing but trek.h and libtrek. The vector cases arrive on stdin, one per line,
 * fields hex-encoded ("-" for an empty field), written by tests/c_api.rs from
 * the JSON files in ../shared/vectors/. Prints "N passed, M failed" and exits non-zero on any failure.
 */
#include "trek.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed = 0, failed = 0;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (cond) {                                       \
            passed++;                                     \
        } else {                                          \
            failed++;                                     \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                 \
            fprintf(stderr, " (last error: %s)\n", trek_last_error_message()); \
        }                                                 \
    } while (0)

/* Decodes a hex field into a fresh NUL-terminated buffer ("-" is the empty string). */
static char *unhex(const char *field) {
    if (strcmp(field, "-") == 0) {
        char *empty = malloc(1);
        empty[0] = '\0';
        return empty;
    }
    size_t n = strlen(field) / 2;
    char *out = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned int byte;
        sscanf(field + 2 * i, "%2x", &byte);
        out[i] = (char)byte;
    }
    out[n] = '\0';
    return out;
}

static void vector_policy(char **f) {
    char *password = unhex(f[1]);
    int expected_ok = atoi(f[2]);
    char *reason = unhex(f[3]);
    char *got = NULL;
    trek_result r = trek_password_check(password, &got);
    CHECK((r == TREK_OK) == expected_ok, "policy decision for case %s", f[1]);
    if (expected_ok) {
        CHECK(got == NULL, "no reason on success");
    } else {
        CHECK(r == TREK_POLICY_VIOLATION && got && strcmp(got, reason) == 0, "reason %s", got ? got : "(null)");
    }
    trek_string_free(got);
    free(password);
    free(reason);
}

static void vector_bcrypt(char **f) {
    char *password = unhex(f[1]), *hash = unhex(f[2]);
    bool matches = !atoi(f[3]), rehash = false;
    trek_result r = trek_password_verify(password, hash, &matches, &rehash);
    CHECK(r == TREK_OK && matches == (bool)atoi(f[3]), "bcrypt case %s", f[2]);
    CHECK(!matches || rehash, "a matching bcrypt hash needs rehash");
    free(password);
    free(hash);
}

static void vector_jwt(char **f) {
    char *secret = unhex(f[1]), *token = unhex(f[2]);
    long long id = atoll(f[3]), pv = atoll(f[4]), iat = atoll(f[5]), exp = atoll(f[6]);
    int purpose = atoi(f[7]);
    int64_t got_id = -1, got_pv = -1;
    trek_result r = trek_session_verify(secret, token, iat, &got_id, &got_pv);
    if (purpose) {
        CHECK(r == TREK_VERIFICATION_FAILED, "a token with purpose is refused");
    } else {
        CHECK(r == TREK_OK && got_id == id && got_pv == pv, "jwt verifies (id %lld)", id);
        CHECK(trek_session_verify(secret, token, exp - 1, &got_id, &got_pv) == TREK_OK, "valid until exp");
        CHECK(trek_session_verify(secret, token, exp, &got_id, &got_pv) == TREK_EXPIRED, "expired at exp");
        char *issued = NULL;
        if (atoi(f[8])) {
            CHECK(trek_session_issue(secret, id, pv, iat, &issued) == TREK_OK && strcmp(issued, token) == 0,
                  "issuing reproduces the vector token");
            trek_string_free(issued);
        }
        CHECK(trek_session_verify("another secret", token, iat, &got_id, &got_pv) == TREK_VERIFICATION_FAILED,
              "another secret fails");
    }
    free(secret);
    free(token);
}

static void vector_sealed(char **f) {
    char *key = unhex(f[1]), *stored = unhex(f[3]), *plaintext = unhex(f[4]);
    trek_secret_kind kind = (trek_secret_kind)atoi(f[2]);
    char *opened = NULL;
    CHECK(trek_secret_open(key, kind, stored, &opened) == TREK_OK && strcmp(opened, plaintext) == 0,
          "sealed vector opens (kind %u)", kind);
    trek_string_free(opened);
    char *resealed = NULL, *reopened = NULL;
    CHECK(trek_secret_seal(key, kind, plaintext, &resealed) == TREK_OK, "seals");
    CHECK(trek_secret_open(key, kind, resealed, &reopened) == TREK_OK && strcmp(reopened, plaintext) == 0,
          "round trip");
    trek_string_free(resealed);
    trek_string_free(reopened);
    free(key);
    free(stored);
    free(plaintext);
}

static void vector_must_fail(char **f) {
    char *key = unhex(f[1]), *stored = unhex(f[2]);
    char *opened = (char *)"untouched";
    CHECK(trek_secret_open(key, TREK_SECRET_API_KEY, stored, &opened) == TREK_DECRYPTION_FAILED,
          "bad value refused");
    CHECK(strcmp(opened, "untouched") == 0, "out-pointer untouched on failure");
    const char *unprefixed = strncmp(stored, "enc:v1:", 7) == 0 ? stored + 7 : stored;
    CHECK(trek_secret_open(key, TREK_SECRET_MFA, unprefixed, &opened) == TREK_DECRYPTION_FAILED,
          "bad value refused as mfa");
    free(key);
    free(stored);
}

static void vector_legacy(char **f) {
    char *key = unhex(f[1]), *plain = unhex(f[2]), *opened = NULL;
    CHECK(trek_secret_open(key, TREK_SECRET_API_KEY, plain, &opened) == TREK_OK && strcmp(opened, plain) == 0,
          "legacy plaintext passes through");
    trek_string_free(opened);
    free(key);
    free(plain);
}

static void vector_totp(char **f) {
    char *secret = unhex(f[1]), *code = unhex(f[3]), *got = NULL;
    long long t = atoll(f[2]);
    CHECK(trek_totp_generate(secret, t, &got) == TREK_OK && strcmp(got, code) == 0, "totp code at %lld", t);
    trek_string_free(got);
    int64_t step = -1;
    CHECK(trek_totp_verify(secret, code, t, -1, &step) == TREK_OK && step == t / 30, "totp verifies");
    CHECK(trek_totp_verify(secret, code, t, step, &step) == TREK_VERIFICATION_FAILED, "totp replay refused");
    free(secret);
    free(code);
}

static void run_vectors(void) {
    char line[65536];
    int cases = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *fields[16] = {0};
        int n = 0;
        for (char *tok = strtok(line, " \n"); tok && n < 16; tok = strtok(NULL, " \n")) fields[n++] = tok;
        if (n == 0) continue;
        cases++;
        switch (fields[0][0]) {
            case 'P': vector_policy(fields); break;
            case 'B': vector_bcrypt(fields); break;
            case 'J': vector_jwt(fields); break;
            case 'S': vector_sealed(fields); break;
            case 'F': vector_must_fail(fields); break;
            case 'L': vector_legacy(fields); break;
            case 'T': vector_totp(fields); break;
            default: CHECK(0, "unknown vector record %s", fields[0]);
        }
    }
    printf("vector cases: %d\n", cases);
}

static void test_null_and_utf8_arguments(void) {
    char *s = NULL;
    bool b1, b2;
    int64_t i1, i2;
    uint64_t u;
    const char bad_utf8[] = {(char)0xff, (char)0xfe, 0};
    CHECK(trek_password_check(NULL, &s) == TREK_INVALID_ARGUMENT, "null password");
    CHECK(strstr(trek_last_error_message(), "password") != NULL, "message names the argument");
    CHECK(trek_password_check(bad_utf8, &s) == TREK_INVALID_ARGUMENT, "bad utf-8");
    CHECK(trek_password_hash("x", NULL) == TREK_INVALID_ARGUMENT, "null hash_out");
    CHECK(trek_password_hash(NULL, &s) == TREK_INVALID_ARGUMENT, "null password to hash");
    CHECK(trek_password_verify("x", NULL, &b1, &b2) == TREK_INVALID_ARGUMENT, "null hash");
    CHECK(trek_password_verify("x", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA", NULL, &b2) == TREK_INVALID_ARGUMENT, "null matches_out");
    CHECK(trek_password_verify("x", "plain text", &b1, &b2) == TREK_INVALID_ARGUMENT, "unreadable hash");
    CHECK(trek_secret_seal(NULL, TREK_SECRET_API_KEY, "x", &s) == TREK_INVALID_ARGUMENT, "null key");
    CHECK(trek_secret_seal("k", 7, "x", &s) == TREK_INVALID_ARGUMENT, "unknown kind");
    CHECK(trek_secret_seal("k", TREK_SECRET_MFA, bad_utf8, &s) == TREK_INVALID_ARGUMENT, "bad utf-8 plaintext");
    CHECK(trek_secret_open("k", TREK_SECRET_API_KEY, "enc:v1:AAAA", NULL) == TREK_INVALID_ARGUMENT, "null out");
    CHECK(trek_session_issue(NULL, 1, 0, 0, &s) == TREK_INVALID_ARGUMENT, "null secret");
    CHECK(trek_session_verify("k", NULL, 0, &i1, &i2) == TREK_INVALID_ARGUMENT, "null token");
    CHECK(trek_session_verify("k", "a.b.c", 0, NULL, &i2) == TREK_INVALID_ARGUMENT, "null id out");
    CHECK(trek_totp_generate("not base32!", 0, &s) == TREK_INVALID_ARGUMENT, "bad base32");
    CHECK(trek_totp_generate("JBSWY3DPEHPK3PXP", -5, &s) == TREK_INVALID_ARGUMENT, "negative time");
    CHECK(trek_totp_verify("JBSWY3DPEHPK3PXP", "123456", 0, -2, &i1) == TREK_INVALID_ARGUMENT, "bad last_step");
    CHECK(trek_totp_verify("JBSWY3DPEHPK3PXP", NULL, 0, -1, &i1) == TREK_INVALID_ARGUMENT, "null code");
    CHECK(trek_rate_limiter_check(NULL, "k", 0, &u) == TREK_INVALID_ARGUMENT, "null limiter");
    CHECK(trek_client_ip(NULL, NULL, NULL, &s) == TREK_INVALID_ARGUMENT, "null peer");
    CHECK(trek_client_ip("not-an-ip", NULL, NULL, &s) == TREK_INVALID_ARGUMENT, "bad peer");
    CHECK(trek_client_ip("127.0.0.1", NULL, "nonsense/99", &s) == TREK_INVALID_ARGUMENT, "bad TRUST_PROXY");
    CHECK(trek_client_ip("127.0.0.1", NULL, NULL, NULL) == TREK_INVALID_ARGUMENT, "null ip_out");
    CHECK(trek_session_issue("", 1, 0, 0, &s) == TREK_INVALID_ARGUMENT, "empty jwt secret");
    CHECK(trek_session_verify("", "a.b.c", 0, &i1, &i2) == TREK_INVALID_ARGUMENT, "empty jwt secret");
    CHECK(trek_secret_seal("", TREK_SECRET_API_KEY, "x", &s) == TREK_INVALID_ARGUMENT, "empty key");
    CHECK(trek_secret_open("", TREK_SECRET_MFA, "x", &s) == TREK_INVALID_ARGUMENT, "empty key");
    CHECK(trek_password_verify("x", "$2b$31$xcRu8/ezRq/9vZ.wpxRc0erXNyzGnbQ7t6uFf7y.exlUyGOYfT1Va", &b1, &b2) == TREK_INVALID_ARGUMENT,
          "a bcrypt cost of 31 is refused, not run");
    CHECK(trek_ssrf_check_ip(NULL, false) == TREK_INVALID_ARGUMENT, "null ip");
    CHECK(trek_ssrf_check_ip("example.com", false) == TREK_INVALID_ARGUMENT, "host name is not an ip");
    trek_string_free(NULL);
    trek_rate_limiter_free(NULL);
}

static void test_password_hash_and_verify(void) {
    char *hash = NULL, *reason = (char *)"stale";
    bool matches = false, rehash = true;
    CHECK(trek_password_check("Tr3k!Tr3k", &reason) == TREK_OK && reason == NULL, "strong password");
    CHECK(trek_password_check("short", NULL) == TREK_POLICY_VIOLATION, "reason_out is optional");
    CHECK(trek_password_hash("Tr3k!Tr3k", &hash) == TREK_OK && strncmp(hash, "$argon2id$", 10) == 0, "argon2id");
    CHECK(trek_password_verify("Tr3k!Tr3k", hash, &matches, &rehash) == TREK_OK && matches && !rehash, "verifies");
    CHECK(trek_password_verify("Tr3k!Tr3K", hash, &matches, &rehash) == TREK_OK && !matches, "wrong password");
    trek_string_free(hash);
}

static void test_sessions_refuse_tampering(void) {
    const char *secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char *token = NULL;
    int64_t id = 0, pv = 0;
    CHECK(trek_session_issue(secret, 42, 3, 1700000000, &token) == TREK_OK, "issue");
    CHECK(trek_session_verify(secret, token, 1700000001, &id, &pv) == TREK_OK && id == 42 && pv == 3, "verify");
    size_t len = strlen(token);
    token[len - 2] = token[len - 2] == 'A' ? 'B' : 'A';
    CHECK(trek_session_verify(secret, token, 1700000001, &id, &pv) == TREK_VERIFICATION_FAILED, "tampered");
    CHECK(trek_session_verify(secret, "garbage", 1700000001, &id, &pv) == TREK_VERIFICATION_FAILED, "garbage");
    const char *alg_none = "eyJhbGciOiJub25lIn0.eyJpZCI6MSwiZXhwIjoxODAwMDAwMDAwfQ.";
    CHECK(trek_session_verify(secret, alg_none, 1700000001, &id, &pv) == TREK_VERIFICATION_FAILED, "alg none");
    trek_string_free(token);
}

static void test_rate_limiter(void) {
    CHECK(trek_rate_limiter_new(0, 1000) == NULL, "zero max refused");
    CHECK(trek_rate_limiter_new(3, 0) == NULL, "zero window refused");
    trek_rate_limiter *limiter = trek_rate_limiter_new(3, 1000);
    CHECK(limiter != NULL, "limiter");
    uint64_t retry = 99;
    for (int i = 0; i < 3; i++) {
        CHECK(trek_rate_limiter_check(limiter, "1.2.3.4", 10, &retry) == TREK_OK && retry == 0, "allowed %d", i);
    }
    CHECK(trek_rate_limiter_check(limiter, "1.2.3.4", 500, &retry) == TREK_RATE_LIMITED && retry == 510, "limited");
    CHECK(trek_rate_limiter_check(limiter, "5.6.7.8", 500, &retry) == TREK_OK, "other key");
    CHECK(trek_rate_limiter_check(limiter, "1.2.3.4", 1010, &retry) == TREK_OK, "new window");
    CHECK(trek_rate_limiter_check(limiter, "k", 0, NULL) == TREK_INVALID_ARGUMENT, "null retry out");
    trek_rate_limiter_free(limiter);
}

static void test_client_ip(void) {
    char *ip = NULL;
    CHECK(trek_client_ip("203.0.113.9", "1.2.3.4", "127.0.0.0/8", &ip) == TREK_OK && strcmp(ip, "203.0.113.9") == 0,
          "an untrusted peer's header is ignored: %s", ip);
    trek_string_free(ip);
    CHECK(trek_client_ip("127.0.0.1", "1.2.3.4, 198.51.100.7", "1", &ip) == TREK_OK && strcmp(ip, "198.51.100.7") == 0,
          "one trusted hop: %s", ip);
    trek_string_free(ip);
    CHECK(trek_client_ip("::ffff:10.0.0.2", "198.51.100.7, 10.0.0.1", "10.0.0.0/8", &ip) == TREK_OK &&
              strcmp(ip, "198.51.100.7") == 0, "trusted networks walked: %s", ip);
    trek_string_free(ip);
    CHECK(trek_client_ip("127.0.0.1", "1.2.3.4", NULL, &ip) == TREK_OK && strcmp(ip, "127.0.0.1") == 0,
          "unset trusts nothing: %s", ip);
    trek_string_free(ip);
}

static void test_ssrf(void) {
    const char *always[] = {"127.0.0.1", "127.1", "0x7f000001", "2130706433", "[::1]", "::ffff:127.0.0.1",
                            "169.254.169.254", "0.0.0.0", "64:ff9b::7f00:1", "224.0.0.1"};
    for (size_t i = 0; i < sizeof always / sizeof *always; i++) {
        CHECK(trek_ssrf_check_ip(always[i], true) == TREK_BLOCKED, "%s always blocked", always[i]);
    }
    CHECK(trek_ssrf_check_ip("10.0.0.1", false) == TREK_BLOCKED, "private blocked by default");
    CHECK(trek_ssrf_check_ip("10.0.0.1", true) == TREK_OK, "private allowed with allow_internal");
    CHECK(trek_ssrf_check_ip("8.8.8.8", false) == TREK_OK, "public allowed");
}

int main(void) {
    CHECK(trek_version() != NULL && strlen(trek_version()) > 0, "version");
    CHECK(strcmp(trek_last_error_message(), "") == 0, "no error yet");
    test_null_and_utf8_arguments();
    test_password_hash_and_verify();
    test_sessions_refuse_tampering();
    test_rate_limiter();
    test_client_ip();
    test_ssrf();
    run_vectors();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
