// The shortest connection between $from and $to over links of any type, in either direction and
// of any date, at most 4 links long: one row per entity along the path, in path order, with
// the path's length. No rows: the two are not connected within 4 links.
// Parameters: $from (entity id), $to (entity id).
MATCH p = (a:Entity {id: $from})-[*1..4]-(b:Entity {id: $to})
WITH p, length(p) AS links ORDER BY links LIMIT 1
UNWIND nodes(p) AS n
RETURN n.id AS id, n.name AS name, n.kind AS kind, links;
