// Generated from graphscore/schema/model.toml by graphscore.store.statements: do not edit.
MATCH (s:ScoreRecord) WHERE s.score_policy = $policy AND s.score_as_of = $as_of RETURN s.key AS key, s.own AS `own`, s.echo AS `echo`, s.inherited AS `inherited`, s.total AS `total`;
MATCH (r:ScoreRun {key: $key}) RETURN r.number AS `number`, r.score_policy AS `score_policy`, r.score_policy_hash AS `score_policy_hash`, CAST(r.score_as_of AS STRING) AS `score_as_of`, r.written_at AS `written_at`, r.entities AS `entities`;
MATCH (m:GraphscoreMeta {key: $key}) RETURN m.value AS value;
LOAD FROM $rows MATCH (s:ScoreRecord {key: v_key}) DETACH DELETE s;
LOAD FROM $rows MATCH (s:ScoreRecord {key: v_key}) SET s.own = v_own, s.echo = v_echo, s.inherited = v_inherited, s.total = v_total;
LOAD FROM $rows MATCH (e:Entity {id: v_id}) CREATE (e)-[:HAS_SCORE]->(s:ScoreRecord {key: v_key, own: v_own, echo: v_echo, inherited: v_inherited, total: v_total, score_policy: v_score_policy, score_as_of: v_score_as_of});
COPY ScoreRecord(key, own, echo, inherited, total, score_policy, score_as_of) FROM $rows;
COPY HAS_SCORE FROM $edges;
MATCH (s:ScoreRecord) WHERE s.score_policy = $policy AND s.score_as_of = $as_of RETURN count(s) AS records;
MATCH (:Entity)-[:HAS_SCORE]->(s:ScoreRecord) WHERE s.score_policy = $policy AND s.score_as_of = $as_of RETURN count(*) AS links;
MERGE (r:ScoreRun {key: $key}) SET r.number = $number, r.score_policy = $score_policy, r.score_policy_hash = $score_policy_hash, r.score_as_of = $score_as_of, r.written_at = $written_at, r.entities = $entities;
MATCH (m:GraphscoreMeta {key: $key}) DELETE m;
CREATE (:GraphscoreMeta {key: $key, value: $value});
