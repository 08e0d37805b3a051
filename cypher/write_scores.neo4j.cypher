// Generated from graphscore/schema/model.toml by graphscore.store.statements: do not edit.
UNWIND $rows AS row MATCH (e:Entity {id: row.id}) SET e.own = row.own, e.echo = row.echo, e.inherited = row.inherited, e.total = row.total, e.score_policy = row.score_policy, e.score_policy_hash = row.score_policy_hash, e.score_as_of = row.score_as_of;
