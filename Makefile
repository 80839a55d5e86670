# The two commands: `make run` (end-to-end pipeline on the built-in defaults) and `make test`.
# Both bring the local stack (PostgreSQL + Kafka-protocol broker on 127.0.0.1) up themselves.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := source Compose/local/env.sh
SWIFT_FLAGS ?= -c release

.PHONY: run test build stack-up stack-down stack-status bench-bus bench-lm clean

stack-up:
	Compose/local/stack.sh up

stack-down:
	Compose/local/stack.sh down

stack-status:
	Compose/local/stack.sh status

build: stack-up
	swift build $(SWIFT_FLAGS)

run: build
	$(ENV); Compose/local/pipeline.sh

test: stack-up
	$(ENV); swift build $(SWIFT_FLAGS) --build-tests
	$(ENV); swift test $(SWIFT_FLAGS) --skip-build

clean:
	rm -rf .build bench-results
