# The two commands: `make run` (end-to-end pipeline on the built-in defaults) and `make test`.
# Both bring the local stack (PostgreSQL + Kafka-protocol broker on 127.0.0.1) up themselves.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := source Compose/local/env.sh
SWIFT_FLAGS ?= -c release

.PHONY: run test compose-config build stack-up stack-down stack-status bench-bus bench-store bench-lm bench-critic bench-trainer experiment clean

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

# The compute-bound suites first, on their own: their synchronous work (kernels, training, building
# and annotating the benchmark) holds the test runner's threads for seconds, which would stall the
# timing-sensitive bus and server tests running beside them (measured: a 10 s stall at the start of
# one combined run, 4 s when split). Then the LLM backends against a real llama.cpp server, which
# keeps a core busy while it generates, so also on their own. Then the other unit and integration
# tests; then the end-to-end tests, which start service processes, kill the broker and crash
# PostgreSQL, so they run on their own and one at a time.
COMPUTE_TESTS := TensorTests|SentenceEncoderTests|LanguageModelTests|DeepPrefTests|DeepPrefFormatsTests|CouncilTests|OracleJudgeTests|RewardModelTests|PolicyTrainingTests
LLM_SERVER_TESTS := LLMServerTests

# The Compose file, with .env substituted, as docker-compose 1.29 reads it. It only warns about a
# variable .env does not set (and substitutes ""), so any output fails. env -i: Compose prefers
# the caller's environment over .env, and Compose/local/env.sh exports CDRA_KAFKA_BROKERS.
compose-config:
	out="$$(env -i PATH="$$PATH" docker-compose --env-file Compose/.env -f Compose/compose.yaml config -q 2>&1)" \
	  && [ -z "$$out" ] || { printf 'Compose/compose.yaml: %s\n' "$$out" >&2; exit 1; }

test: compose-config stack-up
	$(ENV); swift build $(SWIFT_FLAGS) --build-tests
	$(ENV); swift test $(SWIFT_FLAGS) --skip-build --filter '$(COMPUTE_TESTS)'
	$(ENV); swift test $(SWIFT_FLAGS) --skip-build --filter '$(LLM_SERVER_TESTS)'
	$(ENV); swift test $(SWIFT_FLAGS) --skip-build --skip 'EndToEndTests|$(LLM_SERVER_TESTS)|$(COMPUTE_TESTS)'
	$(ENV); CDRA_BIN_DIR="$$(swift build $(SWIFT_FLAGS) --show-bin-path)" \
	  swift test $(SWIFT_FLAGS) --skip-build --no-parallel --filter EndToEndTests

bench-bus: build
	$(ENV); "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/cdra" bench bus --events 50000

bench-store: build
	$(ENV); "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/cdra" bench store --events 50000

# 1 and then 2 replicas of `critic serve` (child processes, one thread each) on the local stack.
# The prm backend needs a trained PRM checkpoint; CRITIC_BACKEND=fixture measures the service on
# its deterministic test fixture.
CRITIC_BACKEND ?= prm
# Requests per replica count (the prm backend answers a few per second per replica).
CRITIC_REQUESTS ?= 600
bench-critic: build
	$(ENV); "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/critic" bench --backend $(CRITIC_BACKEND) --requests $(CRITIC_REQUESTS)

# RL steps of the default policy configuration against critic replicas over Kafka (the prm backend
# needs a trained PRM; TRAINER_CRITIC=oracle needs none).
TRAINER_CRITIC ?= prm
bench-trainer: build
	$(ENV); "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/policy-trainer" bench --critic-backend $(TRAINER_CRITIC)

# The policy study: SFT vs GRPO vs CDPA (both variants), 3 seeds, fine and coarse rewards, critiques
# from the PRM over Kafka. EXPERIMENT_ARGS passes options, e.g. EXPERIMENT_ARGS="--steps 40".
EXPERIMENT_ARGS ?=
experiment: build
	$(ENV); "$$(swift build $(SWIFT_FLAGS) --show-bin-path)/cdra" experiment $(EXPERIMENT_ARGS)

bench-lm: stack-up
	Compose/local/bench-lm.sh

clean:
	rm -rf .build bench-results
