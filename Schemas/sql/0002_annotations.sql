-- Cognitive Council annotations (DESIGN §5): one row per (query, backend) in annotations, one
-- row per persona critique in persona_critiques.

CREATE TABLE annotations (
    query_id              text NOT NULL REFERENCES queries (query_id) ON DELETE CASCADE,
    backend               text NOT NULL,   -- 'builtin', or 'llm:<model>' for the LLM backend
    inferred_preferences  text[] NOT NULL DEFAULT '{}',
    -- The moderator's critique-annotated chain: an array of {"stage", "text", ...} objects,
    -- stages surface_request → implicit_preferences → latent_risks → defensive_strategy → response_plan.
    reasoning_chain       jsonb NOT NULL,
    -- The council's tree of candidate steps with per-node critiques, scores and pruning marks.
    thought_tree          jsonb,
    aligned_response      text NOT NULL,
    superficial_response  text NOT NULL,
    rubric                jsonb NOT NULL,
    -- The whole CouncilAnnotation as the event carries it (inferred preferences with confidence
    -- and evidence, persona critiques, tree, chain, answers, rubric): what the council generator
    -- republishes when a batch is replayed, so a replay sends exactly what was stored.
    document              jsonb NOT NULL,
    source_event_id       uuid NOT NULL UNIQUE,
    annotated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (query_id, backend),
    CHECK (jsonb_typeof(reasoning_chain) = 'array')
);
CREATE INDEX annotations_inferred_preferences_idx ON annotations USING gin (inferred_preferences);

CREATE TABLE persona_critiques (
    query_id             text NOT NULL,
    backend              text NOT NULL,
    persona              text NOT NULL,   -- 'Psychologist', 'Security Expert', ...
    ordinal              integer NOT NULL CHECK (ordinal >= 0),  -- order within the annotation
    quoted_cue           text,            -- span of the query the critique points at
    inferred_preference  text NOT NULL,
    latent_risk          text,
    -- How much harm ignoring the preference would do, in [0, 1].
    severity             real NOT NULL CHECK (severity BETWEEN 0 AND 1),
    recommendation       text,
    PRIMARY KEY (query_id, backend, ordinal),
    FOREIGN KEY (query_id, backend) REFERENCES annotations (query_id, backend) ON DELETE CASCADE
);
CREATE INDEX persona_critiques_persona_idx ON persona_critiques (persona, inferred_preference);
