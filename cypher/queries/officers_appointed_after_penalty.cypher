// Officers appointed to a company on or after the start of a penalty on that company, and
// before $until (exclusive): the appointment, the penalty and how many days after its start.
// These are the people a `link_time = "at_penalty"` policy does not taint with that penalty.
// Parameters: $until (date).
// Example: graphscore cypher --db DIR --file cypher/queries/officers_appointed_after_penalty.cypher --param until:date=2024-06-30
MATCH (c:Entity)-[:HAS_PENALTY]->(p:Penalty)
MATCH (c)<-[o:OFFICER_OF]-(officer:Entity)
WHERE o.start_date IS NOT NULL AND o.start_date >= p.start_date AND o.start_date < $until
RETURN officer.id AS officer_id, officer.name AS officer, o.role AS role, o.start_date AS appointed,
       c.id AS company_id, c.name AS company, p.id AS penalty, p.kind AS penalty_kind,
       p.start_date AS penalty_start
ORDER BY company_id, appointed, officer_id, penalty;
