// Legal representatives of companies penalised on $as_of who also represent other companies
// (China's joint punishment reaches exactly these people and, through them, these companies).
// Parameters: $as_of (date).
// Example: graphscore cypher --db DIR --file cypher/queries/representatives_of_penalised_elsewhere.cypher --param as_of:date=2024-06-30
MATCH (pc:Entity)-[:HAS_PENALTY]->(p:Penalty)
WHERE p.start_date <= $as_of AND (p.end_date IS NULL OR $as_of < p.end_date)
MATCH (pc)<-[r1:OFFICER_OF]-(rep:Entity)-[r2:OFFICER_OF]->(other:Entity)
WHERE other.id <> pc.id AND r1.role = 'legal_representative' AND r2.role = 'legal_representative'
  AND (r1.start_date IS NULL OR r1.start_date <= $as_of) AND (r1.end_date IS NULL OR $as_of < r1.end_date)
  AND (r2.start_date IS NULL OR r2.start_date <= $as_of) AND (r2.end_date IS NULL OR $as_of < r2.end_date)
RETURN DISTINCT rep.id AS person_id, rep.name AS person, pc.id AS penalised_id, pc.name AS penalised,
       other.id AS company_id, other.name AS company
ORDER BY person_id, penalised_id, company_id;
