// Entities with the highest total score written back by `graphscore score`, with the
// policy and date the score belongs to. An entity without score properties scored zero in the last
// write-back (zero scores are stored as nothing), or was never scored.
// Parameters: $limit (integer).
// Example: graphscore cypher --db DIR --file cypher/queries/top_scores.cypher --param limit:int=20
MATCH (e:Entity)
WHERE e.total IS NOT NULL
RETURN e.id AS id, e.name AS name, e.kind AS kind, e.own AS own, e.inherited AS inherited,
       e.total AS total, e.score_policy AS policy, e.score_as_of AS as_of
ORDER BY total DESC
LIMIT $limit;
