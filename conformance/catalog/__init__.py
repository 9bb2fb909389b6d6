"""catalog layer (see DESIGN.md): the requirement catalogue, the PICS registry and expressions.

The catalogue data lives in ``catalog/data/*.toml`` (one file per specification document) and
is validated when loaded; see docs/catalogue.md for the id scheme and the interpretations.
"""

from conformance.catalog.loader import SEED_FILES, Catalog, CatalogError, load_catalog
from conformance.catalog.model import Document, Requirement, Role, Strength, Testability
from conformance.catalog.pics import (
    PICS_OPTIONS,
    PicsError,
    PicsOption,
    evaluate,
    names_in,
    parse_expression,
)

__all__ = [
    "PICS_OPTIONS",
    "SEED_FILES",
    "Catalog",
    "CatalogError",
    "Document",
    "PicsError",
    "PicsOption",
    "Requirement",
    "Role",
    "Strength",
    "Testability",
    "evaluate",
    "load_catalog",
    "names_in",
    "parse_expression",
]
