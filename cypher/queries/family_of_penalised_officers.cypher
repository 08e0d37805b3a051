// Family members of the officers of companies penalised on $as_of: the relative, the relation
// as recorded, the officer and their office, and the company. Offices and family links count
// when in force on $as_of.
// Parameters: $as_of (date).
// Example: graphscore cypher --db DIR --file cypher/queries/family_of_penalised_officers.cypher --param as_of:date=2024-06-30
MATCH (pc:Entity)-[:HAS_PENALTY]->(p:Penalty)
WHERE p.start_date <= $as_of AND (p.end_date IS NULL OR $as_of < p.end_date)
MATCH (pc)<-[o:OFFICER_OF]-(officer:Entity)-[f:FAMILY]-(relative:Entity)
WHERE relative.id <> officer.id
  AND (o.start_date IS NULL OR o.start_date <= $as_of) AND (o.end_date IS NULL OR $as_of < o.end_date)
  AND (f.start_date IS NULL OR f.start_date <= $as_of) AND (f.end_date IS NULL OR $as_of < f.end_date)
RETURN DISTINCT relative.id AS relative_id, relative.name AS relative, f.role AS relation,
       officer.id AS officer_id, officer.name AS officer, o.role AS office,
       pc.id AS company_id, pc.name AS company
ORDER BY relative_id, officer_id, company_id;
