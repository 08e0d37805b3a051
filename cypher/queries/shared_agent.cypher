// Entities that share an agent with the entity $id: the registered agent, company secretary,
// formation agent or intermediary (AGENT_OF links, FtM's Representation) acting for both, with
// its role for each. Agencies count when in force on $as_of ([start, end)).
// Parameters: $id (entity id), $as_of (date).
// Example: graphscore cypher --db DIR --file cypher/queries/shared_agent.cypher --param id=C000001 --param as_of:date=2024-06-30
MATCH (c:Entity {id: $id})<-[a1:AGENT_OF]-(agent:Entity)-[a2:AGENT_OF]->(other:Entity)
WHERE other.id <> c.id
  AND (a1.start_date IS NULL OR a1.start_date <= $as_of) AND (a1.end_date IS NULL OR $as_of < a1.end_date)
  AND (a2.start_date IS NULL OR a2.start_date <= $as_of) AND (a2.end_date IS NULL OR $as_of < a2.end_date)
RETURN DISTINCT agent.id AS agent_id, agent.name AS agent, a1.role AS role_here, other.id AS client_id,
       other.name AS client, a2.role AS role_there
ORDER BY agent_id, client_id, role_here, role_there;
