// Generated from graphscore/schema/model.toml by graphscore.store.statements: do not edit.
UNWIND $rows AS row MATCH (e:Entity {id: row.id}) SET e.own = CAST(row.own AS DOUBLE), e.inherited = CAST(row.inherited AS DOUBLE), e.total = CAST(row.total AS DOUBLE), e.score_policy = CAST(row.score_policy AS STRING), e.score_as_of = CAST(row.score_as_of AS DATE);
