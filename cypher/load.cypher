// Generated from graphscore/schema/model.toml by graphscore.store.statements: do not edit.
// LadybugDB bulk loads: $rows is an Arrow table; changed links are deleted by key,
// then copied in again with the new rows.
COPY Entity(id, kind, name, jurisdiction, registration_id, address, value, source_ref) FROM $rows;
COPY Penalty(id, kind, severity, start_date, end_date, repair_from, authority, regime, source_ref) FROM $rows;
COPY HAS_PENALTY FROM $edges;
LOAD FROM $rows MATCH (n:Entity {id: v_id}) SET n.kind = v_kind, n.name = v_name, n.jurisdiction = v_jurisdiction, n.registration_id = v_registration_id, n.address = v_address, n.value = v_value, n.source_ref = v_source_ref;
LOAD FROM $rows MATCH (n:Penalty {id: v_id}) SET n.kind = v_kind, n.severity = v_severity, n.start_date = v_start_date, n.end_date = v_end_date, n.repair_from = v_repair_from, n.authority = v_authority, n.regime = v_regime, n.source_ref = v_source_ref;
UNWIND $keys AS k MATCH ()-[r:OWNS]->() WHERE r.key = k DELETE r;
COPY OWNS(key, share, share_low, share_high, role, start_date, end_date, source_ref) FROM $rows;
UNWIND $keys AS k MATCH ()-[r:OFFICER_OF]->() WHERE r.key = k DELETE r;
COPY OFFICER_OF(key, share, share_low, share_high, role, start_date, end_date, source_ref) FROM $rows;
UNWIND $keys AS k MATCH ()-[r:CONTROLS]->() WHERE r.key = k DELETE r;
COPY CONTROLS(key, share, share_low, share_high, role, start_date, end_date, source_ref) FROM $rows;
UNWIND $keys AS k MATCH ()-[r:FAMILY]->() WHERE r.key = k DELETE r;
COPY FAMILY(key, share, share_low, share_high, role, start_date, end_date, source_ref) FROM $rows;
UNWIND $keys AS k MATCH ()-[r:ASSOCIATE]->() WHERE r.key = k DELETE r;
COPY ASSOCIATE(key, share, share_low, share_high, role, start_date, end_date, source_ref) FROM $rows;
UNWIND $keys AS k MATCH ()-[r:AGENT_OF]->() WHERE r.key = k DELETE r;
COPY AGENT_OF(key, share, share_low, share_high, role, start_date, end_date, source_ref) FROM $rows;
