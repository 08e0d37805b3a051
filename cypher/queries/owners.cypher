// Direct owners of the entity $id with their stakes and the period of each record.
// Parameters: $id (entity id).
// Example: graphscore cypher --db DIR --file cypher/queries/owners.cypher --param id=C000001
MATCH (o:Entity)-[r:OWNS]->(a:Entity {id: $id})
RETURN o.id AS owner_id, o.name AS owner, o.kind AS kind, r.share AS share,
       r.start_date AS start, r.end_date AS `end`
ORDER BY r.start_date, o.name;
