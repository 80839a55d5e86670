-- critiques holds every reply the critic sent, not only the scored ones: a malformed generation
-- and a request that could not be critiqued are kept with their status and reason, so a request
-- sent again (same request_id) gets the same answer and the table says what happened to each.
--
-- Scores become double precision: the reply event carries doubles, and the stored row must give
-- back exactly the reply that was sent.

DROP VIEW v_critique_scores;

ALTER TABLE critiques
    ADD COLUMN status text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'malformed', 'failed')),
    ADD COLUMN attempts integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    ADD COLUMN critique_text text NOT NULL DEFAULT '',   -- the raw generated chain, also when it did not parse
    ADD COLUMN error text,                               -- why a malformed or failed reply is not scored
    -- The backend that answered: 'prm', 'scalar', 'oracle', 'llm:<model>', ... (NULL before 0006).
    ADD COLUMN critic_backend text,
    ALTER COLUMN final_score DROP NOT NULL,
    ALTER COLUMN final_score TYPE double precision,
    ALTER COLUMN step_scores TYPE double precision[],
    ADD CONSTRAINT critiques_score_exactly_when_ok CHECK ((status = 'ok') = (final_score IS NOT NULL)),
    ADD CONSTRAINT critiques_reason_unless_ok CHECK (status = 'ok' OR coalesce(error, '') <> '');

CREATE INDEX critiques_status_idx ON critiques (status) WHERE status <> 'ok';

-- Scored critiques with the response and query they score (malformed and failed replies have no
-- score and are left out).
CREATE VIEW v_critique_scores AS
SELECT k.request_id, k.response_id, r.query_id, r.model_checkpoint, r.origin, k.critic_checkpoint,
       k.final_score, k.step_scores, k.created_at
FROM critiques k
LEFT JOIN responses r USING (response_id)
WHERE k.status = 'ok';
