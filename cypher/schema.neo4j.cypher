// Generated from graphscore/schema/model.toml by graphscore.store.statements: do not edit.
// Neo4j uniqueness constraints.
CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE;
CREATE CONSTRAINT penalty_id IF NOT EXISTS FOR (p:Penalty) REQUIRE p.id IS UNIQUE;
CREATE CONSTRAINT meta_key IF NOT EXISTS FOR (m:GraphscoreMeta) REQUIRE m.key IS UNIQUE;
CREATE INDEX staged_entity_id IF NOT EXISTS FOR (e:GraphscoreStagedEntity) ON (e.id);
CREATE CONSTRAINT score_record_key IF NOT EXISTS FOR (s:ScoreRecord) REQUIRE s.key IS UNIQUE;
CREATE CONSTRAINT score_run_key IF NOT EXISTS FOR (r:ScoreRun) REQUIRE r.key IS UNIQUE;
