"""Reports as files, presentation only: the answers of :mod:`graphscore.analysis`
(a ``SpilloverReport``, ``CompareReport`` or ``Dossier``) rendered to JSON, Markdown, HTML and SVG.
Figures in :mod:`~graphscore.report.charts`, files in :mod:`~graphscore.report.render` (which hands
each kind to ``render_spillover``, ``render_dossier`` or ``render_compare``; all write through
:mod:`~graphscore.report.markup` and the templates that extend ``templates/base.html.j2``).

Nothing is imported here, so ``import graphscore`` does not load matplotlib or jinja2.
"""
