# The commands of the README. `make run` runs the system, `make test` runs every test.
export CARGO_TARGET_DIR ?= $(CURDIR)/target

.PHONY: run test bench seed build lambda-build

run:
	cargo run --

test:
	scripts/test.sh

bench:
	cargo bench -p contacts --bench hot_path

seed:
	cargo run -- seed $(ARGS)

lambda-build:
	@test -x .local/venv/bin/cargo-lambda || { python3 -m venv .local/venv && .local/venv/bin/pip install -q cargo-lambda; }
	PATH="$(CURDIR)/.local/venv/bin:$$PATH" cargo lambda build --release --arm64 -p contacts -p calendar -p authorizer
