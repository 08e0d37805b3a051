// Generated from graphscore/schema/model.toml by graphscore.store.statements: do not edit.
// LadybugDB DDL.
CREATE NODE TABLE IF NOT EXISTS Entity(id STRING PRIMARY KEY, kind STRING, name STRING, jurisdiction STRING, registration_id STRING, address STRING, value DOUBLE, source_ref STRING);
CREATE NODE TABLE IF NOT EXISTS Penalty(id STRING PRIMARY KEY, kind STRING, severity DOUBLE, start_date DATE, end_date DATE, repair_from DATE, authority STRING, regime STRING, source_ref STRING);
CREATE REL TABLE IF NOT EXISTS HAS_PENALTY(FROM Entity TO Penalty);
CREATE REL TABLE IF NOT EXISTS OWNS(FROM Entity TO Entity, key STRING, share DOUBLE, share_low DOUBLE, share_high DOUBLE, role STRING, start_date DATE, end_date DATE, source_ref STRING);
CREATE REL TABLE IF NOT EXISTS OFFICER_OF(FROM Entity TO Entity, key STRING, share DOUBLE, share_low DOUBLE, share_high DOUBLE, role STRING, start_date DATE, end_date DATE, source_ref STRING);
CREATE REL TABLE IF NOT EXISTS CONTROLS(FROM Entity TO Entity, key STRING, share DOUBLE, share_low DOUBLE, share_high DOUBLE, role STRING, start_date DATE, end_date DATE, source_ref STRING);
CREATE REL TABLE IF NOT EXISTS FAMILY(FROM Entity TO Entity, key STRING, share DOUBLE, share_low DOUBLE, share_high DOUBLE, role STRING, start_date DATE, end_date DATE, source_ref STRING);
CREATE REL TABLE IF NOT EXISTS ASSOCIATE(FROM Entity TO Entity, key STRING, share DOUBLE, share_low DOUBLE, share_high DOUBLE, role STRING, start_date DATE, end_date DATE, source_ref STRING);
CREATE REL TABLE IF NOT EXISTS AGENT_OF(FROM Entity TO Entity, key STRING, share DOUBLE, share_low DOUBLE, share_high DOUBLE, role STRING, start_date DATE, end_date DATE, source_ref STRING);
CREATE NODE TABLE IF NOT EXISTS ScoreRecord(key STRING PRIMARY KEY, own DOUBLE, echo DOUBLE, inherited DOUBLE, total DOUBLE, score_policy STRING, score_as_of DATE);
CREATE REL TABLE IF NOT EXISTS HAS_SCORE(FROM Entity TO ScoreRecord);
CREATE NODE TABLE IF NOT EXISTS ScoreRun(key STRING PRIMARY KEY, number INT64, score_policy STRING, score_policy_hash STRING, score_as_of DATE, written_at STRING, entities INT64);
