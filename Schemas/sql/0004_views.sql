-- Views that answer the common questions in one SELECT (documented in Docs/database.md).

-- Row count of every CDRA table (exact; cheap at benchmark scale).
CREATE VIEW v_table_counts AS
          SELECT 'profiles'::text AS table_name, count(*) AS row_count FROM profiles
UNION ALL SELECT 'queries', count(*) FROM queries
UNION ALL SELECT 'dataset_splits', count(*) FROM dataset_splits
UNION ALL SELECT 'annotations', count(*) FROM annotations
UNION ALL SELECT 'persona_critiques', count(*) FROM persona_critiques
UNION ALL SELECT 'responses', count(*) FROM responses
UNION ALL SELECT 'critiques', count(*) FROM critiques
UNION ALL SELECT 'checkpoints', count(*) FROM checkpoints
UNION ALL SELECT 'training_metrics', count(*) FROM training_metrics
UNION ALL SELECT 'evaluations', count(*) FROM evaluations
UNION ALL SELECT 'processed_events', count(*) FROM processed_events
UNION ALL SELECT 'dead_letters', count(*) FROM dead_letters;

-- Per consumer and partition: how many events it applied and the highest offset it stored.
CREATE VIEW v_consumer_progress AS
SELECT consumer, topic, kafka_partition,
       count(*)          AS events_processed,
       max(kafka_offset) AS last_offset,
       max(processed_at) AS last_processed_at
FROM processed_events
GROUP BY consumer, topic, kafka_partition;

-- Queries per topic and submitted split.
CREATE VIEW v_query_topics AS
SELECT topic, split, count(*) AS queries, count(DISTINCT profile_id) AS profiles
FROM queries
GROUP BY topic, split;

-- One row per annotation with its query, profile, persona critique count and the recall of the
-- benchmark's hidden preferences by the inferred ones (NULL when the query has no ground truth).
CREATE VIEW v_annotation_overview AS
SELECT a.query_id,
       a.backend,
       q.topic,
       q.split,
       p.profile_id,
       p.stated_preference,
       p.risk_tolerance,
       q.question,
       q.hidden_preferences,
       a.inferred_preferences,
       CASE WHEN cardinality(q.hidden_preferences) = 0 THEN NULL
            ELSE (SELECT count(*) FROM unnest(q.hidden_preferences) h
                  WHERE h = ANY (a.inferred_preferences))::double precision
                 / cardinality(q.hidden_preferences)
       END AS hidden_preference_recall,
       (SELECT count(*) FROM persona_critiques c
        WHERE c.query_id = a.query_id AND c.backend = a.backend) AS persona_critiques,
       jsonb_array_length(a.reasoning_chain) AS reasoning_steps,
       a.annotated_at
FROM annotations a
JOIN queries q USING (query_id)
JOIN profiles p ON p.profile_id = q.profile_id;

-- What each persona contributes: critiques, queries covered, most frequent inferred preference.
CREATE VIEW v_persona_summary AS
SELECT persona,
       count(*)                 AS critiques,
       count(DISTINCT query_id) AS queries,
       mode() WITHIN GROUP (ORDER BY inferred_preference) AS most_common_preference
FROM persona_critiques
GROUP BY persona;

-- The newest value of every metric per checkpoint and split, with the checkpoint's kind and step.
CREATE VIEW v_latest_evaluations AS
SELECT DISTINCT ON (e.checkpoint_id, e.split, e.metric)
       e.checkpoint_id, c.model_kind, c.run_id, c.step, e.split, e.metric, e.value, e.details,
       e.evaluated_at
FROM evaluations e
JOIN checkpoints c USING (checkpoint_id)
ORDER BY e.checkpoint_id, e.split, e.metric, e.evaluated_at DESC, e.evaluation_id DESC;

-- The headline table: the published measures side by side, one row per checkpoint and split.
CREATE VIEW v_evaluation_table AS
SELECT checkpoint_id, model_kind, run_id, step, split,
       max(value) FILTER (WHERE metric = 'acc_pf')             AS acc_pf,
       max(value) FILTER (WHERE metric = 'acc_da')             AS acc_da,
       max(value) FILTER (WHERE metric = 'acc_mis')            AS acc_mis,
       max(value) FILTER (WHERE metric = 'm_dm')               AS m_dm,
       max(value) FILTER (WHERE metric = 'm_ie')               AS m_ie,
       max(value) FILTER (WHERE metric = 'hidden_pref_recall') AS hidden_pref_recall,
       max(value) FILTER (WHERE metric = 'prm_score')          AS prm_score,
       max(value) FILTER (WHERE metric = 'win_rate')           AS win_rate,
       max(evaluated_at)                                       AS evaluated_at
FROM v_latest_evaluations
GROUP BY checkpoint_id, model_kind, run_id, step, split;

-- Checkpoints without their weights (the bytea column is megabytes per row).
CREATE VIEW v_checkpoints AS
SELECT checkpoint_id, model_kind, run_id, step, parent_checkpoint_id, config, sha256, size_bytes, created_at
FROM checkpoints;

-- Per training run: steps logged, last step, and the last value of each metric.
CREATE VIEW v_training_latest AS
SELECT DISTINCT ON (run_id, name)
       run_id, name, step AS last_step, value AS last_value, recorded_at
FROM training_metrics
ORDER BY run_id, name, step DESC;

-- Critiques with the response and query they score.
CREATE VIEW v_critique_scores AS
SELECT k.request_id, k.response_id, r.query_id, r.model_checkpoint, r.origin, k.critic_checkpoint,
       k.final_score, k.step_scores, k.created_at
FROM critiques k
LEFT JOIN responses r USING (response_id);
