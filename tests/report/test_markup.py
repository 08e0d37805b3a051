"""The Jinja environment's cache of compiled templates (graphscore.report.markup.template_cache)."""

import jinja2

from graphscore.report.markup import environment, template_cache

PAGE = "{% for name in names %}<li>{{ name }}</li>{% endfor %}"
NAMES = ["<script>alert(1)</script>", "Acme & Sons"]


def _render(cache) -> str:
    env = jinja2.Environment(loader=jinja2.DictLoader({"page.html": PAGE}), autoescape=True, bytecode_cache=cache)
    return env.get_template("page.html").render(names=NAMES)


def test_a_cached_template_renders_as_one_compiled_from_source(tmp_path):
    fresh = _render(None)
    assert _render(template_cache(str(tmp_path))) == fresh  # compiled, then written to the cache
    assert len(list(tmp_path.iterdir())) == 1
    assert _render(template_cache(str(tmp_path))) == fresh  # read from the cache
    assert "&lt;script&gt;" in fresh and "<script>" not in fresh


def test_a_changed_template_is_compiled_again(tmp_path):
    _render(template_cache(str(tmp_path)))
    env = jinja2.Environment(loader=jinja2.DictLoader({"page.html": PAGE.replace("li", "p")}), autoescape=True,
                             bytecode_cache=template_cache(str(tmp_path)))
    assert env.get_template("page.html").render(names=NAMES).startswith("<p>&lt;script")


def test_a_cache_that_cannot_be_written_compiles_as_before(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert _render(template_cache(str(not_a_folder))) == _render(None)


def test_the_report_environment_caches_its_templates():
    assert isinstance(environment().bytecode_cache, jinja2.FileSystemBytecodeCache)
