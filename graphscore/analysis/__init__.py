"""Answers as data: dataclasses and DataFrames, no formatting (rendering is in
:mod:`graphscore.report`).

- :mod:`~graphscore.analysis.scores`: every entity's score under a policy (``gs.score``);
- :mod:`~graphscore.analysis.whatif`: add or lift a penalty, scores before and after (``gs.whatif``);
- :mod:`~graphscore.analysis.explain`: one entity's score split by source penalty and path;
- :mod:`~graphscore.analysis.spillover`: who one penalty (or a what-if) reaches, how far, how much;
- :mod:`~graphscore.analysis.dossier`: one entity's file;
- :mod:`~graphscore.analysis.compare`: policies or a parameter sweep side by side;
- :mod:`~graphscore.analysis.ownership`: what the ownership rules flag, where they disagree, and
  ultimate owners;
- :mod:`~graphscore.analysis.manifest`: the provenance every result carries.

Data flows one way: engine -> workspace -> analysis -> report / cli; every function here takes
tables or a :class:`~graphscore.workspace.Workspace` and gets projections and baseline runs from
it, and nothing here imports :mod:`graphscore.report`.
"""
