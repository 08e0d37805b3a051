"""Reports on scores: data in :mod:`~graphscore.report.spillover` (one penalty's reach),
:mod:`~graphscore.report.dossier` (one entity's file), :mod:`~graphscore.report.compare`
(policies or a parameter sweep side by side) and :mod:`~graphscore.report.ownership` (what the
ownership rules flag and why); provenance in :mod:`~graphscore.report.manifest`, figures in
:mod:`~graphscore.report.charts` and files in :mod:`~graphscore.report.render` (which hands each
kind to ``render_spillover``, ``render_dossier`` or ``render_compare``; all write through
:mod:`~graphscore.report.markup` and the templates that extend ``templates/base.html.j2``).

Nothing is imported here, so ``import graphscore`` does not load matplotlib or jinja2.
"""
