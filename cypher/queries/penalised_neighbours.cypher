// Entities within two links (ownership, office, control, family or association; either
// direction) of $id that carry a penalty active on $as_of (a date), with the penalty.
// Parameters: $id (entity id), $as_of (date).
// Example: graphscore cypher --db DIR --file cypher/queries/penalised_neighbours.cypher --param id=C000001 --param as_of:date=2024-06-30
MATCH (e:Entity {id: $id})-[:OWNS|OFFICER_OF|CONTROLS|FAMILY|ASSOCIATE*1..2]-(n:Entity)-[:HAS_PENALTY]->(p:Penalty)
WHERE n.id <> e.id AND p.start_date <= $as_of AND (p.end_date IS NULL OR p.end_date > $as_of)
RETURN DISTINCT n.id AS id, n.name AS name, n.kind AS kind, p.id AS penalty, p.kind AS penalty_kind,
       p.authority AS authority
ORDER BY name, penalty;
