//! Tools for `bench/run.sh`: `bare-poem` (the framework's own limit, for comparison only) and
//! `storm` (many loopback source addresses logging in at once, to keep password hashing busy).
