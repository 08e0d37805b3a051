// Ownership chains below $id, up to $levels levels (1 to 3): each holding, the level, the stake
// at each step (step1 is $id's own link) and the chain's product (null where a step has no
// share). Every stored record is listed, whatever its dates; filter on the dates shown.
// `CASE WHEN false THEN x END` is a null of x's type: LadybugDB types a UNION's columns from
// its first branch, and a bare null has no type.
// `r1.share + 0.0` rather than a second bare `r1.share`: LadybugDB 0.22 otherwise gives the
// later branches' step1 the value of their product (tests/store/test_neo4j_queries.py caught it).
// Parameters: $id (entity id), $levels (integer, 1-3).
// Example: graphscore cypher --db DIR --file cypher/queries/holdings_down.cypher --param id=C000001 --param levels:int=3
MATCH (o:Entity {id: $id})-[r1:OWNS]->(a:Entity)
WHERE $levels >= 1
RETURN 1 AS level, a.id AS holding_id, a.name AS holding, CASE WHEN false THEN o.id END AS via_id, CASE WHEN false THEN o.id END AS via2_id,
       r1.share AS step1, CASE WHEN false THEN r1.share END AS step2, CASE WHEN false THEN r1.share END AS step3, r1.share + 0.0 AS product
UNION ALL
MATCH (o:Entity {id: $id})-[r1:OWNS]->(m:Entity)-[r2:OWNS]->(a:Entity)
WHERE $levels >= 2 AND a.id <> o.id
RETURN 2 AS level, a.id AS holding_id, a.name AS holding, m.id AS via_id, CASE WHEN false THEN o.id END AS via2_id,
       r1.share AS step1, r2.share AS step2, CASE WHEN false THEN r1.share END AS step3, r1.share * r2.share AS product
UNION ALL
MATCH (o:Entity {id: $id})-[r1:OWNS]->(m:Entity)-[r2:OWNS]->(m2:Entity)-[r3:OWNS]->(a:Entity)
WHERE $levels >= 3 AND a.id <> o.id AND a.id <> m.id AND m2.id <> o.id
RETURN 3 AS level, a.id AS holding_id, a.name AS holding, m.id AS via_id, m2.id AS via2_id,
       r1.share AS step1, r2.share AS step2, r3.share AS step3, r1.share * r2.share * r3.share AS product;
