# The commands of the README. `make run` runs the system, `make test` runs every test;
# `make check` is the edit loop (fmt, clippy, the tests that need no DynamoDB Local or browser).
export CARGO_TARGET_DIR ?= $(CURDIR)/target

.PHONY: run watch test check bench bench-http seed build lambda-build figures deploy-check soak

# ARGS go to the local stack, e.g. make run ARGS="--parameter-overrides AuthorizerMode=jwt".
run:
	scripts/site-deps.sh
	cargo run -- $(ARGS)

# The same stack with the template's functions under cargo lambda watch
# (docs/local-gateway.md); ARGS as for run.
watch:
	scripts/site-deps.sh
	scripts/watch.sh

test:
	scripts/test.sh

check:
	scripts/check.sh

bench:
	cargo bench -p contacts --bench hot_path

# GET /contacts under wrk, ours beside the two Node peers of bench/peers (docs/benchmarks.md).
bench-http:
	scripts/bench-http.sh

seed:
	cargo run -- seed $(ARGS)

lambda-build:
	scripts/lambda-build.sh

# Prints Lambda sizes, a local cold-start proxy with Lambda's network waits (JWKS_SNAPSHOT,
# aws-lc jitter entropy) and peak RSS (docs/local-lambda.md, "Figures").
figures:
	scripts/lambda-figures.sh

# Everything about the deploy path that runs offline (docs/deploying.md).
deploy-check:
	scripts/deploy-check.sh

# The local stack under load for 60 s: req/s, p99, non-2xx answers, RSS before and after.
soak:
	scripts/soak.sh
