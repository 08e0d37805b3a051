// The shortest connection between $from and $to over links of any type, in either direction and
// of any date, at most 4 links long: one row per entity along the path, in path order, with
// the path's length. No rows: the two are not connected within 4 links.
// On Neo4j, while a staged load is running (graphscore.store.neo4j), the path may pass through
// entities that load has staged but not yet published: node labels inside a path cannot be
// tested in Cypher both stores accept.
// Parameters: $from (entity id), $to (entity id).
// Example: graphscore cypher --db DIR --file cypher/queries/shortest_connection.cypher --param from=C000001 --param to=C000042
MATCH p = (a:Entity {id: $from})-[*1..4]-(b:Entity {id: $to})
WITH p, length(p) AS links ORDER BY links LIMIT 1
UNWIND nodes(p) AS n
RETURN n.id AS id, n.name AS name, n.kind AS kind, links;
