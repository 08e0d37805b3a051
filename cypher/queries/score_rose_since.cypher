// Entities whose written-back score under the policy $policy rose since $since: the total of
// the latest score record (the greatest as-of date written; `graphscore score` writes one per run)
// against the total of the last record dated on or before $since, with the rise. Records are
// compared by the date they describe (score_as_of), not by when they were written
// (written_at, also kept): rescoring an old date later does not make it recent. An entity with
// no record on or before $since, or none after it, has nothing to compare and is left out.
// Parameters: $policy (policy name), $since (date).
// Example: graphscore cypher --db DIR --file cypher/queries/score_rose_since.cypher --param policy=joint-punishment --param since:date=2024-01-01
MATCH (e:Entity)-[:HAS_SCORE]->(s:ScoreRecord)
WHERE s.score_policy = $policy
WITH e, max(s.score_as_of) AS latest_date,
     max(CASE WHEN s.score_as_of <= $since THEN s.score_as_of END) AS earlier_date
WHERE earlier_date IS NOT NULL AND earlier_date < latest_date
MATCH (e)-[:HAS_SCORE]->(latest:ScoreRecord), (e)-[:HAS_SCORE]->(earlier:ScoreRecord)
WHERE latest.score_policy = $policy AND latest.score_as_of = latest_date
  AND earlier.score_policy = $policy AND earlier.score_as_of = earlier_date AND latest.total > earlier.total
RETURN e.id AS id, e.name AS name, e.kind AS kind, earlier.score_as_of AS as_of_before, earlier.total AS total_before,
       latest.score_as_of AS as_of_latest, latest.total AS total_latest, latest.total - earlier.total AS rise
ORDER BY rise DESC, id;
