-- How well the council recovers the benchmark's hidden preferences, per topic and split.
CREATE VIEW v_council_recall AS
SELECT q.topic,
       q.split,
       a.backend,
       count(*) AS annotations,
       round(avg(o.hidden_preference_recall)::numeric, 3) AS mean_recall,
       round(avg(cardinality(a.inferred_preferences))::numeric, 2) AS mean_inferred,
       round(avg(o.persona_critiques)::numeric, 2) AS mean_persona_critiques
FROM annotations a
JOIN queries q USING (query_id)
JOIN v_annotation_overview o ON o.query_id = a.query_id AND o.backend = a.backend
GROUP BY q.topic, q.split, a.backend;
