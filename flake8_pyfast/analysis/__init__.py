"""The shared analysis: one pass over the ``ast``, then lazy, cached queries for the rules."""

from flake8_pyfast.analysis.astutil import const_number, keyword, same_expr
from flake8_pyfast.analysis.core import Analysis
from flake8_pyfast.analysis.heat import DEFAULT_COLD_FUNCTIONS, DEFAULT_HOT_FUNCTIONS
from flake8_pyfast.analysis.kinds import Kind

__all__ = [
    "DEFAULT_COLD_FUNCTIONS",
    "DEFAULT_HOT_FUNCTIONS",
    "Analysis",
    "Kind",
    "const_number",
    "keyword",
    "same_expr",
]
