"""The ``cartographie`` command line: database, reference data, and the server."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from cartographie import migrations, taxonomy, territoires
from cartographie.db import analyse_published, database_url, embedded_cluster, make_engine
from cartographie.embedded import EmbeddedDatabaseError
from cartographie.settings import get_settings
from cartographie.yamlsource import SourceError

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    help="Cartographie des ressources de prévention (« Mon bilan prévention »).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="La base de données (embarquée par défaut).", no_args_is_help=True)
taxonomy_app = typer.Typer(help="Sujets, cartes, besoins et ressources.", no_args_is_help=True)
territoires_app = typer.Typer(help="Régions, départements et communes.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(taxonomy_app, name="taxonomy")
app.add_typer(territoires_app, name="territoires")
ingest_app = typer.Typer(help="Ingestion des sources nationales.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
jeux_app = typer.Typer(help="Jeux d'offres des cartes.", no_args_is_help=True)
app.add_typer(jeux_app, name="jeux")
merge_app = typer.Typer(help="Rapprochement des offres entre sources.", no_args_is_help=True)
app.add_typer(merge_app, name="merge")
carte_app = typer.Typer(help="Les cartes thématiques.", no_args_is_help=True)
app.add_typer(carte_app, name="carte")
users_app = typer.Typer(help="Comptes des contributeurs (ARS) et jetons d'API.",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")


def friendly_errors(command: Callable) -> Callable:
    """Known failures end with a French message and exit code 1, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SourceError as exc:
            err_console.print(f"[red]{len(exc.problems)} problème(s) :[/red]")
            for line in exc.problems:
                err_console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from exc
        except EmbeddedDatabaseError as exc:
            err_console.print(f"[red]Base de données :[/red] {exc}", highlight=False)
            raise typer.Exit(1) from exc

    return wrapper


def _uses_embedded() -> bool:
    return get_settings().database_url is None


# -- db ----------------------------------------------------------------------------------


@db_app.command("start")
@friendly_errors
def db_start() -> None:
    """Démarre la base embarquée (la crée au premier usage)."""
    if not _uses_embedded():
        console.print("DATABASE_URL est défini : la base embarquée n'est pas utilisée.")
        return
    database_url(get_settings())
    console.print("Base embarquée en marche.")


@db_app.command("stop")
@friendly_errors
def db_stop() -> None:
    """Arrête la base embarquée ; les données restent dans son dossier."""
    embedded_cluster(get_settings()).stop()
    console.print("Base embarquée arrêtée.")


@db_app.command("status")
@friendly_errors
def db_status() -> None:
    """État de la base : embarquée ou externe, en marche, version du schéma."""
    settings = get_settings()
    table = Table(show_header=False)
    if settings.database_url:
        table.add_row("base", "externe (DATABASE_URL)")
        url = database_url(settings)
    else:
        cluster = embedded_cluster(settings)
        for key, value in cluster.status().items():
            table.add_row(key, value)
        running = cluster.is_running()
        url = cluster.url() if running and cluster.database_exists() else None
        if running and url is None:
            table.add_row("schéma", "base absente (lancez cartographie init)")
    if url:
        table.add_row("schéma", migrations.current_revision(url) or "vide (lancez db upgrade)")
    console.print(table)


@db_app.command("url")
@friendly_errors
def db_url() -> None:
    """Affiche l'URL SQLAlchemy de la base (démarre la base embarquée si besoin)."""
    print(database_url(get_settings()))


@db_app.command("upgrade")
@friendly_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="Révision visée")] = "head") -> None:
    """Applique les migrations du schéma."""
    migrations.upgrade(database_url(get_settings()), revision)
    console.print(f"Schéma à jour ({revision}).")


# -- reference data ----------------------------------------------------------------------


@taxonomy_app.command("load")
@friendly_errors
def taxonomy_load(
    check: Annotated[bool, typer.Option("--check", help="Vérifie sans écrire")] = False,
) -> None:
    """Vérifie puis charge data/taxonomie (idempotent)."""
    settings = get_settings()
    content = taxonomy.read_taxonomy(settings.resolved_data_dir / "taxonomie")
    if check:
        console.print(f"Taxonomie valide : {len(content.themes)} thèmes, "
                      f"{len(content.cartes)} cartes.")
        return
    engine = make_engine(database_url(settings))
    with engine.begin() as connection:
        counts = taxonomy.load_taxonomy(connection, content)
    console.print("Taxonomie chargée : " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@territoires_app.command("load")
@friendly_errors
def territoires_load() -> None:
    """Charge régions, départements et communes depuis data/territoires (idempotent)."""
    settings = get_settings()
    folder = settings.resolved_data_dir / "territoires"
    engine = make_engine(database_url(settings))
    with console.status("Chargement des territoires…"), engine.begin() as connection:
        counts = territoires.load_territoires(connection, folder)
    console.print("Territoires chargés : " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@app.command("init")
@friendly_errors
def init() -> None:
    """Prépare tout : base, schéma, territoires, taxonomie, jeux d'offres. Idempotent."""
    from cartographie.initialisation import initialise

    settings = get_settings()
    with console.status("Schéma, territoires, taxonomie et jeux d'offres…"):
        counts = initialise(database_url(settings), settings.resolved_data_dir)
    console.print("Base prête : " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@jeux_app.command("check")
@friendly_errors
def jeux_check() -> None:
    """Vérifie les définitions de data/jeux (cartes, attributs, besoins)."""
    from cartographie import jeux

    definitions = jeux.definitions(get_settings().resolved_data_dir)
    cards = len({j.carte for j in definitions})
    console.print(f"Jeux d'offres valides : {len(definitions)} jeux sur {cards} cartes.")


@jeux_app.command("recompute")
@friendly_errors
def jeux_recompute() -> None:
    """Recharge les définitions et recalcule l'appartenance de chaque offre aux jeux."""
    from cartographie import jeux

    settings = get_settings()
    engine = make_engine(database_url(settings))
    with engine.begin() as connection:
        counts = jeux.refresh(connection, settings.resolved_data_dir)
        analyse_published(connection)
    console.print(f"Jeux d'offres recalculés : {len(counts)} jeux, "
                  f"{sum(counts.values())} appartenances.")


@jeux_app.command("explain")
@friendly_errors
def jeux_explain(offer_id: Annotated[int, typer.Argument(help="Identifiant de l'offre")]) -> None:
    """Dit quelle règle a mis une offre dans quel jeu, sur quelle carte."""
    from cartographie import jeux

    engine = make_engine(database_url(get_settings()))
    with engine.connect() as connection:
        rows = jeux.explain(connection, offer_id)
    if not rows:
        console.print(f"L'offre {offer_id} n'est dans aucun jeu d'offres.")
        return
    table = Table("carte", "jeu", "raison", "règle", title=f"Offre {offer_id}")
    for row in rows:
        table.add_row(*row)
    console.print(table)


# -- ingestion ---------------------------------------------------------------------------
# The CLI is the composition root: it reaches into ``ingest`` lazily, so that the domain core
# itself never depends on source formats.


def _ingest(source: str, location: str, accept_retirements: bool) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ingest.catalog import ingest
    from ingest.records import WrongFormat
    from ingest.runner import IngestionError

    settings = get_settings()
    engine = make_engine(database_url(settings))
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"{source} : lecture de {location}")
            report = ingest(
                engine, source, location, settings.resolved_data_dir,
                accept_retirements=accept_retirements,
                progress=lambda n: progress.update(
                    task, description=f"{source} : {n:,} lignes lues".replace(",", " ")),
            )
    except (IngestionError, WrongFormat) as exc:
        run = f" (run {exc.run_id})" if getattr(exc, "run_id", None) else ""
        err_console.print(f"[red]Échec de l'ingestion{run} :[/red] {exc}", highlight=False)
        err_console.print("Rien n'a été publié ; les données en ligne sont inchangées.")
        raise typer.Exit(1) from exc
    counts = report.counts
    console.print(
        f"Run {report.run_id} ({source}) réussi : {report.lus} lues, "
        f"{counts['inseres']} insérées, {counts['mis_a_jour']} mises à jour, "
        f"{counts['inchanges']} inchangées, {counts['retires']} retirées, "
        f"{report.quarantaines} en quarantaine, {report.hors_champ} hors champ."
    )
    console.print(f"Rapprochements : {counts['fusions']} fusion(s), {counts['quasi']} "
                  "rapprochement(s) manqué(s) à revoir (cartographie merge report).")
    if report.quarantaines:
        console.print(f"Détail : cartographie runs --quarantine {report.run_id}")
    console.print("Qualité de la base : cartographie qualite")


AcceptRetirements = Annotated[
    bool,
    typer.Option("--accepter-retraits",
                 help="Publier même si une grande part des établissements disparaît"),
]


@ingest_app.command("finess")
@friendly_errors
def ingest_finess(
    location: Annotated[str, typer.Argument(help="Fichier ou URL (FHIR NDJSON, gzip accepté)")],
    accept_retirements: AcceptRetirements = False,
) -> None:
    """Ingère le fichier national FINESS."""
    _ingest("finess", location, accept_retirements)


@ingest_app.command("vaccination")
@friendly_errors
def ingest_vaccination(
    location: Annotated[str, typer.Argument(help="Fichier ou URL (CSV « ; », UTF-8 ou CP1252)")],
    accept_retirements: AcceptRetirements = False,
) -> None:
    """Ingère la liste nationale des lieux de vaccination."""
    _ingest("vaccination", location, accept_retirements)


@ingest_app.command("ror")
@friendly_errors
def ingest_ror(
    location: Annotated[str, typer.Argument(
        help="Bundle FHIR, NDJSON, ou URL d'une recherche FHIR (pages suivies par « next »)")],
    accept_retirements: AcceptRetirements = False,
) -> None:
    """Ingère les offres du ROR (HealthcareService et ressources liées)."""
    _ingest("ror", location, accept_retirements)


@ingest_app.command("annuaire-sante")
@friendly_errors
def ingest_annuaire_sante(
    location: Annotated[str, typer.Argument(
        help="Extraction PS_LibreAcces_Personne_activite_<date>.txt (chemin, .gz ou URL)")],
    accept_retirements: AcceptRetirements = False,
) -> None:
    """Ingère les lieux d'exercice des médecins, pharmaciens, sages-femmes et infirmiers."""
    _ingest("annuaire-sante", location, accept_retirements)


@ingest_app.command("all")
@friendly_errors
def ingest_all(
    official: Annotated[
        bool, typer.Option("--officiel", help="Télécharger les fichiers officiels (sinon : démo)")
    ] = False,
    missing_only: Annotated[
        bool, typer.Option("--manquantes", help="Seulement les sources jamais ingérées")
    ] = False,
    accept_retirements: AcceptRetirements = False,
) -> None:
    """Ingère toutes les sources de data/sources.yaml (fichiers de démo par défaut)."""
    from sqlalchemy import text

    from ingest.catalog import read_manifest

    settings = get_settings()
    manifest = read_manifest(settings.resolved_data_dir / "sources.yaml")
    engine = make_engine(database_url(settings))
    with engine.connect() as connection:
        done = set(connection.scalars(text("SELECT source FROM run WHERE statut = 'reussi'")))
    for entry in manifest:
        if missing_only and entry.source in done:
            console.print(f"{entry.nom} : déjà ingérée, ignorée (--manquantes).")
            continue
        _ingest(entry.source, entry.url if official else str(entry.demo), accept_retirements)


@ingest_app.command("contributions")
@friendly_errors
def ingest_contributions(
    location: Annotated[str, typer.Argument(help="Fichier CSV (modèle) ou GeoJSON")],
    region: Annotated[str, typer.Option("--region", help="Code de la région (ex. 44)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Vérifier sans rien écrire")] = False,
    page: Annotated[int, typer.Option(
        "--page", min=1, help="Page du rapport (erreurs et avertissements d'abord)")] = 1,
    lignes_max: Annotated[int, typer.Option("--lignes-max", min=1,
                                            help="Lignes du rapport par page")] = 100,
) -> None:
    """Importe les offres d'une ARS (brouillons à publier) ; résumé et lignes à regarder."""
    from sqlalchemy import text

    from cartographie.contributions import Refus
    from cartographie.geocodage import GeocodeurGeoplateformeLot, GeocodeurLocal, ban_index
    from ingest import contributions
    from ingest.records import WrongFormat
    from ingest.sources import fetched

    settings = get_settings()
    engine = make_engine(database_url(settings))
    try:
        with fetched(location) as source_file, engine.connect() as connection, \
                connection.begin() as transaction:
            if connection.execute(text("SELECT 1 FROM region WHERE code = :code"),
                                  {"code": region}).first() is None:
                err_console.print(f"[red]Région inconnue « {region} ».[/red]")
                raise typer.Exit(1)
            geocoder = (GeocodeurGeoplateformeLot(settings.geoplateforme_url)
                        if settings.geocodeur == "geoplateforme"
                        else GeocodeurLocal(connection, ban_index(settings.resolved_ban_dir)))
            rapport = contributions.import_file(
                connection, source_file.path, compte=None, code_region=region,
                geocoder=geocoder, data_dir=settings.resolved_data_dir, dry_run=dry_run,
                emplacement=source_file.emplacement, empreinte=source_file.sha256)
            if dry_run:
                transaction.rollback()
    except (WrongFormat, Refus) as exc:
        err_console.print(f"[red]Fichier refusé :[/red] {exc}", highlight=False)
        err_console.print("Rien n'a été écrit.")
        raise typer.Exit(1) from exc
    shown = rapport.page_of(page, lignes_max)
    rows = [(str(item.ligne or ""), item.resultat, str(item.offre_id or ""),
             item.precision_geo or "", " ; ".join(item.erreurs + item.avertissements))
            for item in shown.lignes if item.erreurs or item.avertissements]
    _print_table(f"Lignes à regarder (page {shown.page} sur {shown.pages})",
                 ("ligne", "résultat", "offre", "précision", "détail"), rows)
    if page * lignes_max < rapport.lignes_a_voir:
        console.print(f"{rapport.lignes_a_voir} lignes à regarder en tout : la suite avec "
                      f"--page {page + 1}.")
    mode = "Vérification (rien n'a été écrit)" if dry_run else f"Import (run {rapport.run_id})"
    console.print(f"{mode} : {rapport.lues} lues, {rapport.creees} créées (brouillons), "
                  f"{rapport.mises_a_jour} mises à jour, {rapport.inchangees} inchangées, "
                  f"{rapport.doublons} doublons d'offres existantes, {rapport.erreurs} en "
                  f"erreur, {rapport.avertissements} avertissement(s).")


@users_app.command("add")
@friendly_errors
def users_add(
    name: Annotated[str, typer.Option("--name", help="Nom du compte")],
    role: Annotated[str, typer.Option("--role", help="admin, ars_editeur ou ars_moderateur")],
    region: Annotated[str | None, typer.Option("--region", help="Code de la région")] = None,
) -> None:
    """Crée un compte et affiche son jeton d'API (une seule fois)."""
    from cartographie import comptes

    engine = make_engine(database_url(get_settings()))
    try:
        with engine.begin() as connection:
            token = comptes.add_user(connection, name, role, region)
    except comptes.CompteError as exc:
        err_console.print(f"[red]Compte refusé :[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(f"Compte « {name} » créé ({role}{f', région {region}' if region else ''}).")
    console.print("Jeton d'API, affiché une seule fois — conservez-le :")
    print(token)


@users_app.command("list")
@friendly_errors
def users_list() -> None:
    """Les comptes, leur rôle, leur région et le début de leurs jetons actifs."""
    from cartographie import comptes

    engine = make_engine(database_url(get_settings()))
    with engine.connect() as connection:
        users = comptes.list_users(connection)
    _print_table("Comptes", ("nom", "rôle", "région", "créé le", "révoqué le", "jetons actifs",
                             "dernier usage"),
                 [(u["nom"], u["role"], u["code_region"], f"{u['cree_le']:%Y-%m-%d}",
                   f"{u['revoque_le']:%Y-%m-%d}" if u["revoque_le"] else None,
                   u["jetons_actifs"], u["dernier_usage_le"]) for u in users])


@users_app.command("revoke")
@friendly_errors
def users_revoke(name: Annotated[str, typer.Argument(help="Nom du compte")]) -> None:
    """Révoque un compte : ses jetons et ses sessions cessent de fonctionner aussitôt."""
    from cartographie import comptes

    engine = make_engine(database_url(get_settings()))
    try:
        with engine.begin() as connection:
            comptes.revoke_user(connection, name)
    except comptes.CompteError as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from exc
    console.print(f"Compte « {name} » révoqué.")


@merge_app.command("explain")
@friendly_errors
def merge_explain(offer_id: Annotated[int, typer.Argument(help="Identifiant de l'offre")]) -> None:
    """Pourquoi des enregistrements ont été (ou non) rattachés à cette offre."""
    from ingest import merge

    engine = make_engine(database_url(get_settings()))
    with engine.connect() as connection:
        found = merge.explain(connection, offer_id)
    if not found["sources"]:
        err_console.print(f"Aucune offre {offer_id} issue d'une source.")
        raise typer.Exit(1)
    _print_table(f"Sources de l'offre {offer_id}",
                 ("source", "clé", "active", "score", "raison", "vue d'abord", "vue enfin"),
                 found["sources"])
    _print_table("Décisions de rapprochement",
                 ("décision", "source", "clé", "score", "raison", "run"), found["decisions"])
    _print_table("Provenance des champs", ("champ", "source"), found["champs"])


@merge_app.command("report")
@friendly_errors
def merge_report(limit: Annotated[int, typer.Option(help="Lignes par section")] = 50) -> None:
    """Fusions faites, rapprochements manqués sous le seuil, offres dont les sources divergent."""
    from ingest import merge

    engine = make_engine(database_url(get_settings()))
    with engine.connect() as connection:
        found = merge.report(connection, limit)
    columns = ("offre", "source", "clé", "score", "raison")
    _print_table("Fusions", columns, found["fusions"])
    _print_table("Rapprochements manqués (sous le seuil)", columns, found["quasi"])
    _print_table("Conflits de nom entre sources", ("offre", "nom publié", "noms des sources"),
                 found["conflits"])


@app.command("qualite")
@friendly_errors
def qualite() -> None:
    """Rapport de qualité : offres par carte et par région, précision, fusions, orphelines."""
    from cartographie import qualite as quality

    engine = make_engine(database_url(get_settings()))
    with engine.connect() as connection:
        found = quality.report(connection)
        scored = quality.scores(connection)
    _print_table("Offres publiées par carte", ("carte", "offres"), found["par_carte"])
    _print_table("Offres publiées par région", ("région", "offres"), found["par_region"])
    _print_table("Précision de la position", ("précision", "offres", "%"), found["precision"])
    _print_table("Rapprochements", ("décision", "source", "nombre"), found["fusions"])
    columns = ("offres", "score moyen", f"sous {quality.LOW_SCORE}")
    _print_table("Score de qualité par carte", ("carte", *columns), scored["score_par_carte"])
    _print_table("Score de qualité par région", ("région", *columns),
                 scored["score_par_region"])
    _print_table("Offres dont les sources divergent sur le nom", ("nombre",), found["conflits"])
    _print_table("Offres publiées sur aucune carte (catégorie ou type)", ("code", "offres"),
                 found["sans_carte"])


def _print_table(title: str, columns: tuple[str, ...], rows) -> None:
    """A compact table when it fits the terminal, else one block « colonne : valeur » per row.

    Rich would otherwise squeeze every column of a wide table into « qu… » in 80 columns.
    """
    cells = [tuple(_cell(v) for v in row) for row in rows]
    table = Table(*columns, title=f"{title} ({len(cells)})", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False, collapse_padding=True)
    for row in cells:
        table.add_row(*row)
    unbounded = console.options.update(width=10_000)  # its natural width, not the clamped one
    if Measurement.get(console, unbounded, table).maximum <= console.width:
        console.print(table)
        return
    console.print(f"[bold]{title} ({len(cells)})[/bold]", highlight=False)
    label = max(len(name) for name in columns)
    for row in cells:
        console.print("─" * min(console.width, 40), highlight=False)
        for name, value in zip(columns, row, strict=True):
            if value:
                console.print(f"{name:<{label}} : {value}", highlight=False, markup=False,
                              overflow="fold")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return str(value)


RUN_FIELDS = {
    "run": "id", "source": "source", "fichier ou URL": "emplacement",
    "version": "version_donnees", "données du": "donnees_du",
    "date lue dans": "donnees_du_selon", "sha256": "empreinte_sha256", "début": "debut",
    "fin": "fin",
    "statut": "statut", "lues": "lus", "insérées": "inseres", "mises à jour": "mis_a_jour",
    "inchangées": "inchanges", "retirées": "retires", "quarantaine": "quarantaines",
    "message": "message",
}


@app.command("runs")
@friendly_errors
def runs(
    run: Annotated[int | None, typer.Argument(help="Le détail de ce run")] = None,
    quarantine: Annotated[
        int | None, typer.Option("--quarantine", help="Lignes en quarantaine de ce run")
    ] = None,
    limit: Annotated[int, typer.Option(help="Nombre de runs affichés")] = 20,
) -> None:
    """Les dernières ingestions (une ligne chacune), le détail d'un run, ou ses lignes écartées."""
    from sqlalchemy import text

    engine = make_engine(database_url(get_settings()))
    with engine.connect() as connection:
        if quarantine is not None:
            rows = connection.execute(text("""
                SELECT ligne, ressource, raison, left(contenu, 80) FROM quarantaine
                WHERE run_id = :run ORDER BY ligne NULLS LAST, id LIMIT 1000
            """), {"run": quarantine}).all()
            _print_table(f"Quarantaine du run {quarantine}",
                         ("ligne", "ressource", "raison", "contenu"), rows)
            return
        if run is not None:
            found = connection.execute(text("SELECT * FROM run WHERE id = :run"),
                                       {"run": run}).mappings().one_or_none()
            if found is None:
                err_console.print(f"[red]Run inconnu :[/red] {run}", highlight=False)
                raise typer.Exit(1)
            _print_table(f"Run {run}", ("champ", "valeur"),
                         [(label, found.get(column)) for label, column in RUN_FIELDS.items()])
            return
        rows = connection.execute(text("""
            SELECT id, source, to_char(debut, 'YYYY-MM-DD HH24:MI'), statut, lus,
                   inseres + mis_a_jour, retires, quarantaines
            FROM run ORDER BY id DESC LIMIT :limit
        """), {"limit": limit}).all()
    _print_table("Ingestions (détail : cartographie runs RUN)",
                 ("run", "source", "début", "statut", "lues", "écrites", "retirées",
                  "écartées"), rows)


@carte_app.command("export")
@friendly_errors
def carte_export(
    slug: Annotated[str, typer.Argument(help="La carte, par exemple addiction-tabac")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Fichier HTML à écrire")],
    region: Annotated[str | None, typer.Option(help="Code INSEE d'une région, ex. 44")] = None,
) -> None:
    """Écrit la carte dans un seul fichier HTML, lisible hors ligne (couches par jeu)."""
    from sqlalchemy.orm import Session

    from maps.export import ExportError, export_card

    settings = get_settings()
    with Session(make_engine(database_url(settings))) as session:
        try:
            count = export_card(session, settings, slug, region, output)
        except ExportError as exc:
            err_console.print(f"[red]Export impossible :[/red] {exc}", highlight=False)
            raise typer.Exit(1) from exc
    console.print(f"{count} offres écrites dans {output}")


@app.command("couverture")
@friendly_errors
def couverture_cmd(
    carte: Annotated[str | None, typer.Argument(help="La carte, par exemple sante-mentale")] = None,
    jeu: Annotated[str | None, typer.Option(help="Un jeu d'offres de la carte")] = None,
    region: Annotated[str | None, typer.Option(help="Code INSEE d'une région, ex. 44")] = None,
    departement: Annotated[str | None, typer.Option(help="Code d'un département")] = None,
    rayon: Annotated[int, typer.Option(help="Distance des priorités : 10, 20 ou 30 km")] = 10,
    recalculer: Annotated[bool, typer.Option(help="Recalculer toute la France d'abord")] = False,
    jeux: Annotated[bool, typer.Option(help="Avec --recalculer : aussi chaque jeu")] = False,
) -> None:
    """Qui est loin des offres d'une carte, par département, défavorisation et espace ; où agir."""
    from cartographie import couverture, ecarts

    if rayon not in couverture.DISTANCES_KM:
        err_console.print("[red]--rayon :[/red] 10, 20 ou 30")
        raise typer.Exit(1)
    engine = make_engine(database_url(get_settings()))
    with engine.begin() as connection:
        if recalculer:
            count, seconds = couverture.recompute_all(connection, jeux=jeux)
            console.print(f"{count} cartes ou jeux recalculés pour toute la France en "
                          f"{seconds:.1f} s")
        if carte is None:
            return
        groupe = couverture.fresh_group(connection, carte, jeu)
        if groupe is None:
            err_console.print(f"[red]Carte ou jeu inconnu :[/red] {carte} {jeu or ''}",
                              highlight=False)
            raise typer.Exit(1)
        perimetre = ecarts.Perimetre(carte, jeu, region, departement)
        found = ecarts.eloignement(connection, groupe, perimetre)
        ranked = (ecarts.priorites(connection, groupe, perimetre, rayon)
                  if region or departement else [])
    distances = couverture.DISTANCES_KM

    def far(block: dict) -> list[str]:
        return [f"{block[f'au_dela_{km}km']['population']:,} "
                f"({block[f'au_dela_{km}km']['part_pct']} %)".replace(",", " ")
                for km in distances]

    heading = ("population", *(f"au-delà de {km} km" for km in distances))
    where = departement or region or "France"
    _print_table(f"{carte}{' / ' + jeu if jeu else ''} — {where} : qui est loin, par département",
                 ("département", *heading),
                 [(f"{d['code_departement']} {d['nom']}", f"{d['population']:,}".replace(",", " "),
                   *far(d)) for d in found["par_departement"]])
    _print_table("Par quintile de défavorisation (F-EDI, 5 = plus défavorisé)",
                 ("quintile", *heading),
                 [(q, f"{b['population']:,}".replace(",", " "), *far(b))
                  for q, b in found["par_quintile_fedi"].items()])
    _print_table("Par espace (aires d'attraction des villes)", ("espace", *heading),
                 [(e, f"{b['population']:,}".replace(",", " "), *far(b))
                  for e, b in found["par_espace"].items()])
    console.print("Écart plus défavorisés − moins défavorisés (points de % au-delà) : "
                  + ", ".join(f"{km} : {v if v is not None else 'inconnu'}"
                              for km, v in found["ecart_q5_q1_pts"].items()))
    if found["communes_sans_position"]:
        console.print(f"{found['communes_sans_position']} commune(s) sans position "
                      f"({found['population_sans_position']} hab.) : accès non calculé.")
    if ranked:
        _print_table(f"Où agir : une offre nouvelle à moins de {rayon} km de…",
                     ("rang", "commune", "dépt", "communes servies", "personnes gagnées",
                      "pondérées"),
                     [(r["rang"], r["nom"], r["code_departement"], r["communes_servies"],
                       r["population_gagnee"], r["population_ponderee"]) for r in ranked])


# -- server ------------------------------------------------------------------------------


@app.command("serve")
@friendly_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Adresse d'écoute")] = None,
    port: Annotated[int | None, typer.Option(help="Port d'écoute")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Processus de service (défaut : CARTOGRAPHIE_WORKERS, sinon 1)")] = None,
) -> None:
    """Sert l'API et les pages (127.0.0.1:8000 par défaut)."""
    import os

    import uvicorn

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    workers = workers or settings.workers
    # Resolved once here: the embedded cluster is started by this process, not raced by each
    # worker. The workers share nothing else: every cache is keyed by the data version.
    os.environ["DATABASE_URL"] = database_url(settings)
    console.print(f"Service sur http://{host}:{port} ({workers} processus) — API /api/v1, "
                  "documentation /docs (Ctrl-C pour arrêter)")
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers)
