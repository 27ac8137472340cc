"""The taxonomy files: the 7 subjects and 12 cards of the product, and errors with lines."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from cartographie.taxonomy import CARTES, THEMES_CARTES, load_taxonomy, read_taxonomy
from cartographie.yamlsource import SourceError


@pytest.fixture(scope="module")
def shipped(settings_dir):
    return read_taxonomy(settings_dir)


@pytest.fixture(scope="module")
def settings_dir():
    return Path(__file__).resolve().parent.parent / "data" / "taxonomie"


@pytest.fixture
def editable(tmp_path, settings_dir) -> Path:
    """A copy of the shipped taxonomy to break on purpose."""
    folder = tmp_path / "taxonomie"
    shutil.copytree(settings_dir, folder)
    return folder


def test_the_seven_subjects_and_twelve_cards(shipped):
    assert [t.slug for t in shipped.themes] == list(THEMES_CARTES)
    assert [c.slug for c in shipped.cartes] == list(CARTES)
    for theme in shipped.themes:
        assert tuple(theme.cartes) == THEMES_CARTES[theme.slug]


def test_every_card_has_content_for_its_users(shipped):
    for carte in shipped.cartes:
        assert len(carte.texte_editorial) > 400, carte.slug
        assert carte.ressources, carte.slug
        assert len(carte.besoins) >= 3, carte.slug
        assert carte.types_offre, carte.slug


def test_cards_without_national_referential_say_so(shipped):
    for slug in ("nutrition", "activite-physique", "addiction-jeux",
                 "addiction-produits-consommation-courante"):
        carte = next(c for c in shipped.cartes if c.slug == slug)
        assert "ARS" in carte.texte_editorial, slug


@pytest.mark.parametrize(
    ("slug", "telephone", "url"),
    [
        ("tabac-info-service", "39 89", "https://www.tabac-info-service.fr"),
        ("alcool-info-service", "0 980 980 930", "https://www.alcool-info-service.fr"),
        ("drogues-info-service", "0 800 23 13 13", "https://www.drogues-info-service.fr"),
        ("joueurs-info-service", "09 74 75 13 13", "https://www.joueurs-info-service.fr"),
        ("sida-info-service", "0 800 840 800", "https://www.sida-info-service.org"),
        ("numero-3114", "3114", "https://3114.fr"),
        ("fil-sante-jeunes", "0 800 235 236", "https://www.filsantejeunes.com"),
    ],
)
def test_helplines_have_their_real_numbers(shipped, slug, telephone, url):
    ressource = next(r for r in shipped.ressources if r.slug == slug)
    assert (ressource.telephone, ressource.url) == (telephone, url)


def replace_in(path: Path, old: str, new: str) -> int:
    """Replace once and return the line where the change landed."""
    content = path.read_text(encoding="utf-8")
    assert old in content, old
    line = content[: content.index(old)].count("\n") + 1
    path.write_text(content.replace(old, new, 1), encoding="utf-8")
    return line


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(SourceError) as error:
        read_taxonomy(folder)
    return error.value.problems


def test_unknown_card_slug_names_file_and_line(editable):
    path = editable / "cartes" / "addiction-tabac.yaml"
    line = replace_in(path, "slug: addiction-tabac", "slug: addiction-tabak")
    problems = problems_of(editable)
    assert any(p.startswith(f"{path}:{line} : carte inconnue « addiction-tabak »")
               for p in problems), problems


def first_need(taxonomy, card: str) -> str:
    return next(c for c in taxonomy.cartes if c.slug == card).besoins[0].slug


def test_duplicate_need_names_file_and_line(editable, shipped):
    alcool, tabac = first_need(shipped, "addiction-alcool"), first_need(shipped, "addiction-tabac")
    path = editable / "cartes" / "addiction-tabac.yaml"  # read after addiction-alcool.yaml
    line = replace_in(path, f"slug: {tabac}", f"slug: {alcool}")
    problems = problems_of(editable)
    assert any(p.startswith(f"{path}:{line} : besoin « {alcool} » en double") for p in problems), (
        problems
    )


def test_need_pointing_nowhere_names_file_and_line(editable):
    path = editable / "cartes" / "depistage.yaml"
    content = path.read_text(encoding="utf-8")
    besoins_at = content.index("besoins:")
    types_at = content.index("types_offre: [", besoins_at)
    line = content[:types_at].count("\n") + 1
    path.write_text(
        content[:types_at] + "types_offre: [teleportation, " + content[types_at + 14:],
        encoding="utf-8",
    )
    problems = problems_of(editable)
    assert any(p.startswith(f"{path}:{line} : ") and "« teleportation »" in p
               for p in problems), problems


def test_duplicate_resource_and_unknown_resource(editable):
    ressources = editable / "ressources.yaml"
    line = replace_in(ressources, "slug: sos-amitie", "slug: psycom")
    problems = problems_of(editable)
    # Reported at the second occurrence, naming the first: both lines are in the message.
    assert any("ressource « psycom » en double" in p and f"{ressources}:{line}" in p
               for p in problems), problems
    assert any("ressource nationale inconnue « sos-amitie »" in p for p in problems), problems


def test_missing_card_file_is_reported(editable):
    (editable / "cartes" / "nutrition.yaml").unlink()
    assert any("nutrition.yaml:1 : fichier de carte manquant" in p
               for p in problems_of(editable))


def test_invalid_yaml_names_the_line(editable):
    path = editable / "themes.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n  - slug: [oops\n", encoding="utf-8")
    problems = problems_of(editable)
    assert problems[0].startswith(f"{path}:") and "YAML invalide" in problems[0]


def table_counts(connection) -> dict[str, int]:
    return dict(connection.execute(text("""
        SELECT 'theme', count(*) FROM theme UNION ALL SELECT 'carte', count(*) FROM carte
        UNION ALL SELECT 'besoin', count(*) FROM besoin
        UNION ALL SELECT 'besoin_type_offre', count(*) FROM besoin_type_offre
        UNION ALL SELECT 'carte_ressource', count(*) FROM carte_ressource
        UNION ALL SELECT 'ressource_nationale', count(*) FROM ressource_nationale
    """)).all())


def test_loading_twice_changes_nothing(connection, shipped):
    before = table_counts(connection)
    load_taxonomy(connection, shipped)
    load_taxonomy(connection, shipped)
    assert table_counts(connection) == before
    assert before["theme"] == 7 and before["carte"] == 12


def test_a_need_removed_from_the_files_leaves_the_database(connection, editable):
    taxonomy = read_taxonomy(editable)
    removed = taxonomy.cartes[0].besoins.pop()
    load_taxonomy(connection, taxonomy)
    assert connection.execute(
        text("SELECT count(*) FROM besoin WHERE slug = :slug"), {"slug": removed.slug}
    ).scalar_one() == 0
