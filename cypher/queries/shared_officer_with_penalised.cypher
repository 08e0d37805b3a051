// Companies that share a legal representative or a director with a company carrying a penalty
// active on $as_of: the shared person, their role in each company and the penalised company.
// Offices count when in force on $as_of ([start, end), as graphscore reads every date window).
// Parameters: $as_of (date).
// Example: graphscore cypher --db DIR --file cypher/queries/shared_officer_with_penalised.cypher --param as_of:date=2024-06-30
MATCH (pc:Entity)-[:HAS_PENALTY]->(p:Penalty)
WHERE p.start_date <= $as_of AND (p.end_date IS NULL OR $as_of < p.end_date)
MATCH (pc)<-[r1:OFFICER_OF]-(person:Entity)-[r2:OFFICER_OF]->(other:Entity)
WHERE other.id <> pc.id
  AND r1.role IN ['legal_representative', 'director'] AND r2.role IN ['legal_representative', 'director']
  AND (r1.start_date IS NULL OR r1.start_date <= $as_of) AND (r1.end_date IS NULL OR $as_of < r1.end_date)
  AND (r2.start_date IS NULL OR r2.start_date <= $as_of) AND (r2.end_date IS NULL OR $as_of < r2.end_date)
RETURN DISTINCT other.id AS company_id, other.name AS company, person.id AS person_id, person.name AS person,
       r2.role AS role_here, r1.role AS role_there, pc.id AS penalised_id, pc.name AS penalised
ORDER BY company_id, person_id, penalised_id;
