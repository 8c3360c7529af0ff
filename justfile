# Conveniences for Auth Engine. Nothing here is required: the README's commands need only cargo.
# `just` with no argument lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

test_database_url := env("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/auth_engine_test")

default:
    @just --list

# Start a working engine on 127.0.0.1:8080 (SQLite under ./data, console notifier: development only)
run *ARGS:
    cargo run --release -- {{ARGS}}

# Every test; Postgres tests are skipped without TEST_DATABASE_URL (see test-pg)
test *ARGS:
    cargo test --workspace {{ARGS}}

# Every test, Postgres ones included (the database must exist: createdb auth_engine_test)
test-pg *ARGS:
    TEST_DATABASE_URL='{{test_database_url}}' cargo test --workspace {{ARGS}}

# The black-box suite that drives the real binary
e2e *ARGS:
    cargo test -p auth-engine --test e2e {{ARGS}}

# Formatting and clippy, as CI runs them
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# The dependency rule: domain, ports and use cases stay free of frameworks, databases and crypto
deps:
    bash .ci/run deps

# Licences, banned crates and sources (installs cargo-deny if missing)
deny:
    bash .ci/run deny

# Benchmarks of the server crate
bench *ARGS:
    cargo bench -p auth-engine {{ARGS}}

# Everything CI runs, PostgreSQL included
ci:
    bash .ci/run
