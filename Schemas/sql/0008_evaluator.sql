-- The evaluator (DESIGN §8). One evaluation run is one (checkpoint, split, evaluator configuration),
-- done once: its measures (evaluations rows, whole split and per topic) and its examples are
-- written in one transaction with the run row, so a run is stored whole or not at all, and a
-- checkpoint event delivered again finds the run and writes nothing twice.
CREATE TABLE evaluation_runs (
    evaluation_id           text PRIMARY KEY,   -- 'eval-<hash of checkpoint, split, configuration>'
    checkpoint_id           text NOT NULL REFERENCES checkpoints (checkpoint_id) ON DELETE CASCADE,
    split                   text NOT NULL CHECK (split IN ('train', 'validation', 'test', 'test_perturbed')),
    evaluator_config        text NOT NULL,      -- hash of the configuration below
    config                  jsonb NOT NULL DEFAULT '{}',
    examples                integer NOT NULL CHECK (examples >= 0),
    baseline_checkpoint_id  text REFERENCES checkpoints (checkpoint_id) ON DELETE SET NULL,
    source_event_id         uuid,               -- the checkpoint_published event that asked for it
    evaluated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (checkpoint_id, split, evaluator_config)
);

-- Which run wrote a measure, and the topic of a per-topic measure (NULL: the whole split).
ALTER TABLE evaluations ADD COLUMN evaluation_run text REFERENCES evaluation_runs (evaluation_id) ON DELETE CASCADE;
ALTER TABLE evaluations ADD COLUMN topic text;
CREATE INDEX evaluations_run_idx ON evaluations (evaluation_run);

-- One row per evaluated query: the response sampled (in responses), the oracle's eight checks and
-- the critic's score of it.
CREATE TABLE evaluation_examples (
    evaluation_id    text NOT NULL REFERENCES evaluation_runs (evaluation_id) ON DELETE CASCADE,
    query_id         text NOT NULL REFERENCES queries (query_id),
    response_id      text NOT NULL REFERENCES responses (response_id),
    topic            text NOT NULL,
    format_valid     boolean NOT NULL,
    verdict          jsonb NOT NULL,        -- the eight checks, addressed dimensions, rationale
    oracle_score     real NOT NULL,         -- the step oracle's final score in [-1, 1]
    hidden_recall    real,                  -- NULL when the query has no hidden preference
    prm_score        real,                  -- NULL when gated, or the critic answered failed/malformed
    critique_request_id text,               -- the critique in critiques, when there is one
    win              real,                  -- 1 / 0.5 / 0 against the baseline's response; NULL without one
    PRIMARY KEY (evaluation_id, query_id)
);

-- The whole-split measures only: per-topic rows carry a topic.
CREATE OR REPLACE VIEW v_latest_evaluations AS
SELECT DISTINCT ON (e.checkpoint_id, e.split, e.metric)
       e.checkpoint_id, c.model_kind, c.run_id, c.step, e.split, e.metric, e.value, e.details,
       e.evaluated_at
FROM evaluations e
JOIN checkpoints c USING (checkpoint_id)
WHERE e.topic IS NULL
ORDER BY e.checkpoint_id, e.split, e.metric, e.evaluated_at DESC, e.evaluation_id DESC;
