// Entities whose written-back score under the policy $policy rose since $since: the total in the
// policy's latest score run (the greatest as-of date written; `graphscore score` writes one run per
// policy and date) against the total in the last run dated on or before $since, with the rise.
// An entity without a score record in a run scored zero in it (the write-back keeps records of
// non-zero scores only), so an entity that scored nothing then and something now has risen from 0.
// Runs are compared by the date they describe (score_as_of), not by when they were written
// (written_at, also kept on the run): rescoring an old date later does not make it recent. With no
// run on or before $since, or none after it, there is nothing to compare and no row.
// Parameters: $policy (policy name), $since (date).
// Example: graphscore cypher --db DIR --file cypher/queries/score_rose_since.cypher --param policy=joint-punishment --param since:date=2024-01-01
MATCH (run:ScoreRun)
WHERE run.score_policy = $policy
WITH max(run.score_as_of) AS latest_date, max(CASE WHEN run.score_as_of <= $since THEN run.score_as_of END) AS earlier_date
WHERE earlier_date IS NOT NULL AND earlier_date < latest_date
MATCH (e:Entity)-[:HAS_SCORE]->(latest:ScoreRecord)
WHERE latest.score_policy = $policy AND latest.score_as_of = latest_date
OPTIONAL MATCH (e)-[:HAS_SCORE]->(earlier:ScoreRecord)
WHERE earlier.score_policy = $policy AND earlier.score_as_of = earlier_date
WITH e, latest, earlier_date, coalesce(earlier.total, 0.0) AS total_before
WHERE latest.total > total_before
RETURN e.id AS id, e.name AS name, e.kind AS kind, earlier_date AS as_of_before, total_before,
       latest.score_as_of AS as_of_latest, latest.total AS total_latest, latest.total - total_before AS rise
ORDER BY rise DESC, id;
