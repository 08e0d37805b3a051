// Generated from graphscore/schema/model.toml by graphscore.store.statements: do not edit.
// Neo4j constraints and indexes.
CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE;
CREATE CONSTRAINT penalty_id IF NOT EXISTS FOR (p:Penalty) REQUIRE p.id IS UNIQUE;
CREATE INDEX owns_key IF NOT EXISTS FOR ()-[r:OWNS]-() ON (r.key);
CREATE INDEX officer_of_key IF NOT EXISTS FOR ()-[r:OFFICER_OF]-() ON (r.key);
CREATE INDEX controls_key IF NOT EXISTS FOR ()-[r:CONTROLS]-() ON (r.key);
CREATE INDEX family_key IF NOT EXISTS FOR ()-[r:FAMILY]-() ON (r.key);
CREATE INDEX associate_key IF NOT EXISTS FOR ()-[r:ASSOCIATE]-() ON (r.key);
