"""Reports on scores: data in :mod:`~graphscore.report.spillover`, provenance in
:mod:`~graphscore.report.manifest`, figures in :mod:`~graphscore.report.charts` and files in
:mod:`~graphscore.report.render`.

Nothing is imported here, so ``import graphscore`` does not load matplotlib or jinja2.
"""
