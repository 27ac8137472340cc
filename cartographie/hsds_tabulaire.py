"""The HSDS 3.0 tabular package: every published offer as one CSV file per HSDS table, with
the ``datapackage.json`` (Frictionless Data) that describes them, in one zip.

Why from the JSON items: the API's objects (``cartographie.hsds``) are cut into rows, so the
package and the API never disagree. The columns of each table are those of HSDS's
``schema/schema.csv``; the nesting (which property holds which table) is read from the JSON
Schemas beside it. The package is built once per data version (``version_donnees``) and kept.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from cartographie import hsds
from cartographie.recherche import Filtres
from cartographie.settings import get_settings

BATCH = 1000
CSV_FORMATS = {"email", "uri"}  # the string formats of Frictionless that HSDS uses


def schema_dir(data_dir: Path | None = None) -> Path:
    return (data_dir or get_settings().resolved_data_dir) / "hsds-3.0" / "schema"


@lru_cache(maxsize=4)
def layout(directory: Path) -> tuple[dict[str, list[dict[str, str]]], dict[str, dict[str, str]]]:
    """Per table, its CSV columns (``schema.csv``), and which property holds which table
    (the ``$ref`` of the JSON Schemas)."""
    columns: dict[str, list[dict[str, str]]] = {}
    with (directory / "schema.csv").open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            if row["type"] in ("string", "number") and not row["one_to_one"]:
                columns.setdefault(row["table_name"], []).append(row)
    children: dict[str, dict[str, str]] = {}
    for table in columns:
        properties = json.loads((directory / f"{table}.json").read_text())["properties"]
        children[table] = {
            name: ref.removesuffix(".json")
            for name, spec in properties.items()
            if (ref := spec.get("$ref") or spec.get("items", {}).get("$ref"))}
    return columns, children


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _collect(item: dict[str, Any], table: str, children: dict[str, dict[str, str]],
             found: dict[str, dict[str, dict[str, Any]]]) -> None:
    """``item`` and every item nested in it, each in its table's rows, once per id."""
    found.setdefault(table, {})[item["id"]] = item
    for name, child in children.get(table, {}).items():
        value = item.get(name)
        for nested in value if isinstance(value, list) else [value] if value else []:
            _collect(nested, child, children, found)


def _datapackage(tables: list[str], columns: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    resources = []
    for table in tables:
        fields = []
        for column in columns[table]:
            spec = {"name": column["name"], "type": column["type"],
                    "description": column["description"],
                    "constraints": {"required": column["constraints_required"] == "true",
                                    "unique": column["constraints_unique"] == "true"}}
            if column["format"] in CSV_FORMATS:
                spec["format"] = column["format"]
            fields.append(spec)
        keys = [{"fields": column["name"],
                 "reference": {"resource": column["name"].removesuffix("_id"), "fields": "id"}}
                for column in columns[table]
                if column["name"].removesuffix("_id") in tables and column["name"] != "id"]
        resources.append({"name": table, "path": f"{table}.csv", "profile":
                          "tabular-data-resource", "format": "csv", "encoding": "utf-8",
                          "schema": {"fields": fields, "primaryKey": "id",
                                     "foreignKeys": keys}})
    return {"profile": "tabular-data-package", "name": "cartographie-prevention-hsds",
            "title": "Offres de prévention publiées — HSDS 3.0",
            "licenses": [{"name": "etalab-2.0", "title": "Licence Ouverte 2.0"}],
            "resources": resources}


def hsds_tabulaire(connection: Connection, data_dir: Path | None = None) -> bytes:
    """The zip of every published offer (on site and remote) and its structures and terms."""
    columns, children = layout(schema_dir(data_dir))
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for rows in hsds.batches(connection, Filtres(a_distance=True), BATCH):
        context = hsds.context(connection, [row["id"] for row in rows])
        for row in rows:
            _collect(hsds.service(row, context), "service", children, found)
    offset = 0
    while rows := hsds.structures(connection, Filtres(a_distance=True), BATCH, offset)[1]:
        for row in rows:
            _collect(hsds.organization(row), "organization", children, found)
        offset += BATCH
    for item in hsds.taxonomies():
        _collect(item, "taxonomy", children, found)
    for item in hsds.taxonomy_terms(connection).values():
        _collect(item, "taxonomy_term", children, found)
    tables = [table for table in columns if table in found]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("datapackage.json", json.dumps(_datapackage(tables, columns),
                                                        ensure_ascii=False, indent=2))
        for table in tables:
            names = [column["name"] for column in columns[table]]
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(names)
            writer.writerows([_cell(item.get(name)) for name in names]
                             for item in found[table].values())
            archive.writestr(f"{table}.csv", out.getvalue())
    return buffer.getvalue()
