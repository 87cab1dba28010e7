#!/usr/bin/env python3
"""libtrek from Python through ctypes: every case of the shared vectors, and a few error paths.

Usage: trek_ctypes.py path/to/libtrek.so path/to/shared/vectors
Prints "N passed, M failed" and exits non-zero on any failure.
"""
import ctypes
import json
import pathlib
import sys

TREK_OK, TREK_INVALID_ARGUMENT, TREK_POLICY_VIOLATION = 0, 1, 2
TREK_VERIFICATION_FAILED, TREK_DECRYPTION_FAILED, TREK_EXPIRED = 3, 4, 8
API_KEY, MFA = 0, 1

lib = ctypes.CDLL(sys.argv[1])
vectors = pathlib.Path(sys.argv[2])
c_str, out_str = ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)


def declare(name, *args, restype=ctypes.c_uint32):
    fn = getattr(lib, name)
    fn.argtypes, fn.restype = list(args), restype
    return fn


version = declare("trek_version", restype=c_str)
last_error = declare("trek_last_error_message", restype=c_str)
string_free = declare("trek_string_free", ctypes.c_void_p, restype=None)
password_check = declare("trek_password_check", c_str, out_str)
password_verify = declare("trek_password_verify", c_str, c_str, ctypes.POINTER(ctypes.c_bool), ctypes.POINTER(ctypes.c_bool))
secret_seal = declare("trek_secret_seal", c_str, ctypes.c_uint32, c_str, out_str)
secret_open = declare("trek_secret_open", c_str, ctypes.c_uint32, c_str, out_str)
session_issue = declare("trek_session_issue", c_str, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, out_str)
session_verify = declare("trek_session_verify", c_str, c_str, ctypes.c_int64, ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_int64))
totp_generate = declare("trek_totp_generate", c_str, ctypes.c_int64, out_str)
totp_verify = declare("trek_totp_verify", c_str, c_str, ctypes.c_int64, ctypes.c_int64, ctypes.POINTER(ctypes.c_int64))

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what} (last error: {last_error().decode()})", file=sys.stderr)


def take(ptr):
    """Copies a library-owned string out and frees it."""
    if not ptr.value:
        return None
    text = ctypes.cast(ptr.value, c_str).value.decode()
    string_free(ptr.value)
    return text


def call_str(fn, *args):
    out = ctypes.c_void_p()
    code = fn(*args, ctypes.byref(out))
    return code, take(out) if code == TREK_OK or out.value else None


def load(name):
    return json.loads((vectors / name).read_text())


for case in load("password-policy.json")["cases"]:
    out = ctypes.c_void_p()
    code = password_check(case["password"].encode(), ctypes.byref(out))
    reason = take(out)
    check((code == TREK_OK) == case["expected_ok"], f"policy {case['password']!r}")
    check(reason == case["reason"], f"reason {case['password']!r}: {reason!r}")

for case in load("bcrypt.json")["cases"]:
    matches, rehash = ctypes.c_bool(), ctypes.c_bool()
    code = password_verify(case["password"].encode(), case["hash"].encode(), ctypes.byref(matches), ctypes.byref(rehash))
    check(code == TREK_OK and matches.value == case["matches"], f"bcrypt {case['hash']}")

for case in load("jwt.json")["cases"]:
    claims, secret, token = case["claims"], case["secret"].encode(), case["token"].encode()
    uid, pv = ctypes.c_int64(), ctypes.c_int64()
    code = session_verify(secret, token, claims["iat"], ctypes.byref(uid), ctypes.byref(pv))
    if "purpose" in claims:
        check(code == TREK_VERIFICATION_FAILED, "purpose token refused")
        continue
    check(code == TREK_OK and uid.value == claims["id"] and pv.value == claims.get("pv", 0), f"jwt {claims['id']}")
    check(session_verify(secret, token, claims["exp"], ctypes.byref(uid), ctypes.byref(pv)) == TREK_EXPIRED, "expired")
    if "pv" in claims:
        code, issued = call_str(session_issue, secret, claims["id"], claims["pv"], claims["iat"])
        check(code == TREK_OK and issued == case["token"], "issue reproduces the vector")

secrets = load("secrets.json")
key = secrets["encryption_key"].encode()
for name, kind in (("api_keys", API_KEY), ("mfa_secrets", MFA)):
    for case in secrets[name]:
        code, opened = call_str(secret_open, key, kind, case["stored"].encode())
        check(code == TREK_OK and opened == case["plaintext"], f"open {name}")
        code, sealed = call_str(secret_seal, key, kind, case["plaintext"].encode())
        code, reopened = call_str(secret_open, key, kind, sealed.encode())
        check(reopened == case["plaintext"], "round trip")
for bad in secrets["must_fail_to_open"]:
    code, _ = call_str(secret_open, key, API_KEY, bad.encode())
    check(code == TREK_DECRYPTION_FAILED, f"must fail {bad}")
for legacy in secrets["legacy_plaintext"]:
    code, opened = call_str(secret_open, key, API_KEY, legacy.encode())
    check(code == TREK_OK and opened == legacy, "legacy plaintext")

for case in load("totp.json")["cases"]:
    code, got = call_str(totp_generate, case["secret_base32"].encode(), case["unix_time"])
    check(code == TREK_OK and got == case["code"], f"totp {case['secret_base32']}")
    step = ctypes.c_int64()
    code = totp_verify(case["secret_base32"].encode(), case["code"].encode(), case["unix_time"], -1, ctypes.byref(step))
    check(code == TREK_OK and step.value == case["unix_time"] // 30, "totp verifies")
    again = totp_verify(case["secret_base32"].encode(), case["code"].encode(), case["unix_time"], step.value, ctypes.byref(step))
    check(again == TREK_VERIFICATION_FAILED, "replay refused")

check(password_check(None, None) == TREK_INVALID_ARGUMENT, "NULL is an invalid argument")
check(secret_seal(key, 9, b"x", ctypes.byref(ctypes.c_void_p())) == TREK_INVALID_ARGUMENT, "unknown kind")
check(version().decode() != "", "version")

print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
