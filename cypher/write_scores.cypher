// Generated from graphscore/schema/model.toml by graphscore.store.statements: do not edit.
MATCH (e:Entity) WHERE e.own IS NOT NULL OR e.echo IS NOT NULL OR e.inherited IS NOT NULL OR e.total IS NOT NULL OR e.score_policy IS NOT NULL OR e.score_policy_hash IS NOT NULL OR e.score_as_of IS NOT NULL RETURN e.id AS id, e.own AS `own`, e.echo AS `echo`, e.inherited AS `inherited`, e.total AS `total`, e.score_policy AS `score_policy`, e.score_policy_hash AS `score_policy_hash`, CAST(e.score_as_of AS STRING) AS `score_as_of`;
MATCH (s:ScoreRecord) WHERE s.score_policy = $policy AND s.score_as_of = $as_of RETURN s.key AS key, s.own AS `own`, s.echo AS `echo`, s.inherited AS `inherited`, s.total AS `total`;
MATCH (r:ScoreRun {key: $key}) RETURN r.score_policy AS `score_policy`, r.score_policy_hash AS `score_policy_hash`, CAST(r.score_as_of AS STRING) AS `score_as_of`, r.written_at AS `written_at`, r.entities AS `entities`;
LOAD FROM $rows MATCH (n:Entity {id: v_id}) SET n.own = v_own, n.echo = v_echo, n.inherited = v_inherited, n.total = v_total, n.score_policy = v_score_policy, n.score_policy_hash = v_score_policy_hash, n.score_as_of = v_score_as_of;
LOAD FROM $rows MATCH (s:ScoreRecord {key: v_key}) DETACH DELETE s;
LOAD FROM $rows MATCH (s:ScoreRecord {key: v_key}) SET s.own = v_own, s.echo = v_echo, s.inherited = v_inherited, s.total = v_total;
LOAD FROM $rows MATCH (e:Entity {id: v_id}) CREATE (e)-[:HAS_SCORE]->(s:ScoreRecord {key: v_key, own: v_own, echo: v_echo, inherited: v_inherited, total: v_total, score_policy: v_score_policy, score_as_of: v_score_as_of});
COPY ScoreRecord(key, own, echo, inherited, total, score_policy, score_as_of) FROM $rows;
COPY HAS_SCORE FROM $edges;
MERGE (r:ScoreRun {key: $key}) SET r.score_policy = $score_policy, r.score_policy_hash = $score_policy_hash, r.score_as_of = $score_as_of, r.written_at = $written_at, r.entities = $entities;
