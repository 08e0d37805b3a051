// Generated from graphscore/schema/model.toml by graphscore.store.statements: do not edit.
MATCH (s:ScoreRecord) WHERE s.score_policy = $policy AND s.score_as_of = $as_of RETURN s.key AS key, s.own AS `own`, s.echo AS `echo`, s.inherited AS `inherited`, s.total AS `total`;
MATCH (r:ScoreRun {key: $key}) RETURN r.number AS `number`, r.score_policy AS `score_policy`, r.score_policy_hash AS `score_policy_hash`, toString(r.score_as_of) AS `score_as_of`, r.written_at AS `written_at`, r.entities AS `entities`;
MATCH (m:GraphscoreMeta {key: $key}) RETURN m.value AS value;
UNWIND $rows AS row MATCH (s:ScoreRecord {key: row.key}) DETACH DELETE s;
UNWIND $rows AS row MATCH (s:ScoreRecord {key: row.key}) SET s.own = row.own, s.echo = row.echo, s.inherited = row.inherited, s.total = row.total;
UNWIND $rows AS row MATCH (e:Entity {id: row.id}) CREATE (e)-[:HAS_SCORE]->(s:ScoreRecord {key: row.key, own: row.own, echo: row.echo, inherited: row.inherited, total: row.total, score_policy: row.score_policy, score_as_of: row.score_as_of});
MATCH (s:ScoreRecord) WHERE s.score_policy = $policy AND s.score_as_of = $as_of RETURN count(s) AS records;
MATCH (:Entity)-[:HAS_SCORE]->(s:ScoreRecord) WHERE s.score_policy = $policy AND s.score_as_of = $as_of RETURN count(*) AS links;
MERGE (r:ScoreRun {key: $key}) SET r.number = $number, r.score_policy = $score_policy, r.score_policy_hash = $score_policy_hash, r.score_as_of = $score_as_of, r.written_at = $written_at, r.entities = $entities;
MATCH (m:GraphscoreMeta {key: $key}) DELETE m;
CREATE (:GraphscoreMeta {key: $key, value: $value});
