// Entities registered at the same address: every entity whose address, normalised, is shared by
// at least $min_entities entities, with the address as each records it. Many companies at one
// address are typically the clients of one registered agent or company secretary, or shells.
// The normalisation is what Cypher on both stores allows (neither shares a regex or a split
// function): lower case; the punctuation . , ; : - / # ( ) ' " read as spaces; runs of up to
// 16 spaces collapsed to one; ends trimmed. So "487 NANJING  ROAD., Xiamen" and
// "487 Nanjing Road Xiamen" meet, while abbreviations ("Rd" for "Road"), word order and
// transliterations do not. Entities without an address are left out.
// Parameters: $min_entities (integer, 2 or more).
// Example: graphscore cypher --db DIR --file cypher/queries/shared_address.cypher --param min_entities:int=3
MATCH (e:Entity)
WHERE e.address IS NOT NULL
WITH e, ' ' + replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
         toLower(e.address), '.', ' '), ',', ' '), ';', ' '), ':', ' '), '-', ' '), '/', ' '), '#', ' '),
         '(', ' '), ')', ' '), "'", ' '), '"', ' ') + ' ' AS spaced
WITH e, trim(replace(replace(replace(replace(spaced, '  ', ' '), '  ', ' '), '  ', ' '), '  ', ' ')) AS address_key
WITH address_key, collect(e) AS entities
WHERE size(entities) >= $min_entities
UNWIND entities AS e
RETURN address_key, size(entities) AS entities_there, e.id AS id, e.name AS name, e.kind AS kind,
       e.address AS address
ORDER BY entities_there DESC, address_key, id;
