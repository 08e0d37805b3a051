// Companies that share a legal representative with the company $id, and the person they share.
// Parameters: $id (entity id).
// Example: graphscore cypher --db DIR --file cypher/queries/shared_legal_representative.cypher --param id=C000001
MATCH (c:Entity {id: $id})<-[r1:OFFICER_OF]-(p:Entity)-[r2:OFFICER_OF]->(other:Entity)
WHERE r1.role = 'legal_representative' AND r2.role = 'legal_representative' AND other.id <> c.id
RETURN p.id AS person_id, p.name AS person, other.id AS company_id, other.name AS company
ORDER BY company;
