// Entities with the highest total score in the run `graphscore score` wrote last, with the
// policy and date the score belongs to. An entity without a record in that run scored zero in
// it (zero scores are stored as nothing), or was never scored.
// Parameters: $limit (integer).
// Example: graphscore cypher --db DIR --file cypher/queries/top_scores.cypher --param limit:int=20
MATCH (m:GraphscoreMeta {key: 'last_score_run'})
MATCH (run:ScoreRun)
WHERE run.key = m.value
MATCH (e:Entity)-[:HAS_SCORE]->(s:ScoreRecord)
WHERE s.score_policy = run.score_policy AND s.score_as_of = run.score_as_of
RETURN e.id AS id, e.name AS name, e.kind AS kind, s.own AS own, s.inherited AS inherited,
       s.total AS total, run.score_policy AS policy, run.score_as_of AS as_of
ORDER BY total DESC
LIMIT $limit;
