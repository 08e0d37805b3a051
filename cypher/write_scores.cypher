// Generated from graphscore/schema/model.toml by graphscore.store.statements: do not edit.
LOAD FROM $rows MATCH (n:Entity {id: v_id}) SET n.own = v_own, n.echo = v_echo, n.inherited = v_inherited, n.total = v_total, n.score_policy = v_score_policy, n.score_policy_hash = v_score_policy_hash, n.score_as_of = v_score_as_of;
LOAD FROM $rows MATCH (s:ScoreRecord {key: v_key}) DETACH DELETE s;
LOAD FROM $rows MATCH (e:Entity {id: v_id}) CREATE (e)-[:HAS_SCORE]->(s:ScoreRecord {key: v_key, own: v_own, echo: v_echo, inherited: v_inherited, total: v_total, score_policy: v_score_policy, score_policy_hash: v_score_policy_hash, score_as_of: v_score_as_of, written_at: v_written_at});
