// Officers of the company $id and the other companies each of them serves.
// Parameters: $id (entity id).
// Example: graphscore cypher --db DIR --file cypher/queries/officers.cypher --param id=C000001
MATCH (p:Entity)-[r:OFFICER_OF]->(c:Entity {id: $id})
OPTIONAL MATCH (p)-[r2:OFFICER_OF]->(other:Entity)
WHERE other.id <> c.id
RETURN p.id AS officer_id, p.name AS officer, r.role AS role,
       collect(DISTINCT other.name) AS other_companies
ORDER BY officer;
