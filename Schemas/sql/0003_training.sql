-- Models and their outputs (DESIGN §6–§8): checkpoints, responses, critiques, training metrics
-- and evaluations.

CREATE TABLE checkpoints (
    checkpoint_id         text PRIMARY KEY,
    model_kind            text NOT NULL CHECK (model_kind IN ('policy', 'prm')),
    run_id                text,                       -- the training run that wrote it
    step                  integer NOT NULL CHECK (step >= 0),
    parent_checkpoint_id  text REFERENCES checkpoints (checkpoint_id),
    config                jsonb NOT NULL DEFAULT '{}',  -- model and training configuration
    safetensors           bytea NOT NULL,
    -- Hex SHA-256 of safetensors, checked by the server so a stored blob always matches it.
    sha256                text NOT NULL CHECK (sha256 = encode(sha256(safetensors), 'hex')),
    size_bytes            bigint GENERATED ALWAYS AS (octet_length(safetensors)) STORED,
    created_at            timestamptz NOT NULL DEFAULT now()
);
-- Weights barely compress; skip the compression attempt and store out of line directly.
ALTER TABLE checkpoints ALTER COLUMN safetensors SET STORAGE EXTERNAL;
CREATE INDEX checkpoints_kind_run_step_idx ON checkpoints (model_kind, run_id, step);

CREATE TABLE responses (
    response_id          text PRIMARY KEY,
    query_id             text NOT NULL REFERENCES queries (query_id),
    -- Checkpoint that sampled it; no foreign key, because a trainer samples from weights it
    -- has not saved yet. NULL for council reference responses.
    model_checkpoint     text,
    -- 'policy' | 'revision' | 'reference_aligned' | 'reference_superficial' | 'garbled'
    origin               text NOT NULL DEFAULT 'policy',
    parent_response_id   text REFERENCES responses (response_id),  -- the sample a revision revises
    text                 text NOT NULL,
    steps                jsonb NOT NULL DEFAULT '[]',  -- ["Step 1: ...", ..., "Answer: ..."]
    source_event_id      uuid,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (jsonb_typeof(steps) = 'array')
);
CREATE INDEX responses_query_id_idx ON responses (query_id);
CREATE INDEX responses_model_checkpoint_idx ON responses (model_checkpoint);

CREATE TABLE critiques (
    request_id         text PRIMARY KEY,
    -- No foreign key: critique requests carry the response inline, and not every scored
    -- response is stored.
    response_id        text NOT NULL,
    -- [{"step": 1, "critique": "...", "score": 0.7}, ..., {"step": "answer", ...}]
    critique_chain     jsonb NOT NULL,
    step_scores        real[] NOT NULL,
    final_score        real NOT NULL CHECK (final_score BETWEEN -1 AND 1),
    critic_checkpoint  text,           -- PRM checkpoint id, or 'oracle' for the rubric judge
    source_event_id    uuid UNIQUE,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX critiques_response_id_idx ON critiques (response_id);

-- Long form: one row per (run, step, metric). The metric set differs between SFT, GRPO, CDPA and
-- PRM training and grows over time; long form needs no migration for a new metric, and charting
-- or aggregating one metric is a plain WHERE name = '...'.
CREATE TABLE training_metrics (
    run_id       text NOT NULL,
    step         integer NOT NULL CHECK (step >= 0),
    name         text NOT NULL,    -- 'mean_reward', 'kl', 'entropy', 'clip_fraction', 'tokens_per_s', ...
    value        double precision NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, name, step)
);

-- Every evaluation is kept; v_latest_evaluations picks the newest per checkpoint, split and metric.
CREATE TABLE evaluations (
    evaluation_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checkpoint_id    text NOT NULL REFERENCES checkpoints (checkpoint_id) ON DELETE CASCADE,
    split            text NOT NULL,      -- 'test', 'test_perturbed', 'validation', ...
    metric           text NOT NULL,      -- 'acc_pf', 'acc_da', 'acc_mis', 'm_dm', 'm_ie', 'hidden_pref_recall', ...
    value            double precision NOT NULL,
    details          jsonb NOT NULL DEFAULT '{}',   -- sample size, per-check counts, baseline, ...
    source_event_id  uuid,
    evaluated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evaluations_lookup_idx ON evaluations (checkpoint_id, split, metric, evaluated_at DESC);
