// Entities within $hops links (1 or 2, any type, either direction, links in force on $as_of)
// of an entity carrying a penalty active on $as_of: the penalised entity and penalty, the entity
// in between (2 hops) and the type of each link. An entity reached both ways is listed under
// both hop counts. The link type is read with EXISTS because the function naming it differs
// between the stores (Neo4j's type(r), LadybugDB's label(r)): this file runs unchanged on both.
// `CASE WHEN false THEN x END` is a null of x's type: LadybugDB types a UNION's columns from
// its first branch, and a bare null has no type.
// Parameters: $as_of (date), $hops (integer, 1-2).
// Example: graphscore cypher --db DIR --file cypher/queries/near_active_penalty.cypher --param as_of:date=2024-06-30 --param hops:int=2
MATCH (pe:Entity)-[:HAS_PENALTY]->(p:Penalty)
WHERE $hops >= 1 AND p.start_date <= $as_of AND (p.end_date IS NULL OR $as_of < p.end_date)
WITH pe, p
MATCH (pe)-[r1]-(n:Entity)
WHERE n.id <> pe.id
  AND (r1.start_date IS NULL OR r1.start_date <= $as_of) AND (r1.end_date IS NULL OR $as_of < r1.end_date)
RETURN DISTINCT n.id AS id, n.name AS name, 1 AS hops, pe.id AS penalised_id, p.id AS penalty,
       CASE WHEN false THEN pe.id END AS via_id,
       CASE
            WHEN EXISTS { MATCH (pe)-[q:OWNS]-(n) WHERE q.key = r1.key } THEN 'OWNS'
            WHEN EXISTS { MATCH (pe)-[q:OFFICER_OF]-(n) WHERE q.key = r1.key } THEN 'OFFICER_OF'
            WHEN EXISTS { MATCH (pe)-[q:CONTROLS]-(n) WHERE q.key = r1.key } THEN 'CONTROLS'
            WHEN EXISTS { MATCH (pe)-[q:FAMILY]-(n) WHERE q.key = r1.key } THEN 'FAMILY'
            WHEN EXISTS { MATCH (pe)-[q:AGENT_OF]-(n) WHERE q.key = r1.key } THEN 'AGENT_OF'
            ELSE 'ASSOCIATE' END AS link1,
       CASE WHEN false THEN pe.id END AS link2
UNION ALL
MATCH (pe:Entity)-[:HAS_PENALTY]->(p:Penalty)
WHERE $hops >= 2 AND p.start_date <= $as_of AND (p.end_date IS NULL OR $as_of < p.end_date)
WITH pe, p  // not one WHERE: LadybugDB 0.22 then returns r1 outside its dates
MATCH (pe)-[r1]-(m:Entity)-[r2]-(n:Entity)
WHERE n.id <> pe.id AND m.id <> pe.id AND n.id <> m.id
  AND (r1.start_date IS NULL OR r1.start_date <= $as_of) AND (r1.end_date IS NULL OR $as_of < r1.end_date)
  AND (r2.start_date IS NULL OR r2.start_date <= $as_of) AND (r2.end_date IS NULL OR $as_of < r2.end_date)
RETURN DISTINCT n.id AS id, n.name AS name, 2 AS hops, pe.id AS penalised_id, p.id AS penalty,
       m.id AS via_id,
       CASE
            WHEN EXISTS { MATCH (pe)-[q:OWNS]-(m) WHERE q.key = r1.key } THEN 'OWNS'
            WHEN EXISTS { MATCH (pe)-[q:OFFICER_OF]-(m) WHERE q.key = r1.key } THEN 'OFFICER_OF'
            WHEN EXISTS { MATCH (pe)-[q:CONTROLS]-(m) WHERE q.key = r1.key } THEN 'CONTROLS'
            WHEN EXISTS { MATCH (pe)-[q:FAMILY]-(m) WHERE q.key = r1.key } THEN 'FAMILY'
            WHEN EXISTS { MATCH (pe)-[q:AGENT_OF]-(m) WHERE q.key = r1.key } THEN 'AGENT_OF'
            ELSE 'ASSOCIATE' END AS link1,
       CASE
            WHEN EXISTS { MATCH (m)-[q:OWNS]-(n) WHERE q.key = r2.key } THEN 'OWNS'
            WHEN EXISTS { MATCH (m)-[q:OFFICER_OF]-(n) WHERE q.key = r2.key } THEN 'OFFICER_OF'
            WHEN EXISTS { MATCH (m)-[q:CONTROLS]-(n) WHERE q.key = r2.key } THEN 'CONTROLS'
            WHEN EXISTS { MATCH (m)-[q:FAMILY]-(n) WHERE q.key = r2.key } THEN 'FAMILY'
            WHEN EXISTS { MATCH (m)-[q:AGENT_OF]-(n) WHERE q.key = r2.key } THEN 'AGENT_OF'
            ELSE 'ASSOCIATE' END AS link2;
