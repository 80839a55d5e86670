-- What a policy run needs besides its weights to resume exactly: the AdamW moments and the
-- trainer's state (step, data cursor, seeds, the reward-hacking guard). One row per policy
-- checkpoint, written in the checkpoint's transaction, so a checkpoint and its state are stored
-- together or not at all.
CREATE TABLE trainer_states (
    checkpoint_id     text PRIMARY KEY REFERENCES checkpoints (checkpoint_id) ON DELETE CASCADE,
    run_id            text NOT NULL,
    step              integer NOT NULL CHECK (step >= 0),
    state             jsonb NOT NULL,
    optimizer         bytea NOT NULL,
    optimizer_sha256  text NOT NULL CHECK (optimizer_sha256 = encode(sha256(optimizer), 'hex')),
    created_at        timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE trainer_states ALTER COLUMN optimizer SET STORAGE EXTERNAL;
CREATE INDEX trainer_states_run_step_idx ON trainer_states (run_id, step DESC);
