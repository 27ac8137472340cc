"""Marking French texts of the core that the citizen pages show translated.

The core stays French and knows nothing of languages: ``a_traduire("…")`` returns its text
unchanged. It only marks the text for ``pybabel extract`` (keyword ``a_traduire``, see
``maps/babel.cfg``), so the pages' catalogues hold it and ``maps`` translates it when shown.
"""


def a_traduire(texte: str) -> str:
    """The text itself: a marker for the extraction of translatable strings."""
    return texte
