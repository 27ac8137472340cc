"""YAML reading that remembers where each value came from, for error messages with lines.

Why: the taxonomy and the jeux d'offres are edited by hand; an error must name the file and
the line to fix, not just the value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class LocatedStr(str):
    """A string that knows the line it was read from."""

    ligne: int


class LocatedDict(dict):
    """A mapping that knows the line it starts at."""

    ligne: int


class _LineLoader(yaml.SafeLoader):
    def construct_yaml_str(self, node: yaml.ScalarNode) -> LocatedStr:
        value = LocatedStr(super().construct_scalar(node))
        value.ligne = node.start_mark.line + 1
        return value

    def construct_yaml_map(self, node: yaml.MappingNode):
        data = LocatedDict()
        data.ligne = node.start_mark.line + 1
        yield data
        data.update(self.construct_mapping(node))


_LineLoader.add_constructor("tag:yaml.org,2002:str", _LineLoader.construct_yaml_str)
_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_yaml_map)


class SourceError(ValueError):
    """One or more problems in hand-edited files, each as « fichier:ligne : message »."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def stripped(value: str) -> str:
    """``str.strip`` that keeps the line a value was read from."""
    result = LocatedStr(value.strip())
    result.ligne = line_of(value)
    return result


def line_of(value: Any, default: int = 1) -> int:
    return getattr(value, "ligne", default)


def read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise SourceError([f"{where} : YAML invalide ({exc.problem})"]) from exc
    except UnicodeDecodeError as exc:
        raise SourceError([f"{path}:1 : le fichier doit être encodé en UTF-8"]) from exc
