"""Every importer by name, and format detection from a file's first bytes."""

from .anthropic import AnthropicCostImporter, AnthropicUsageImporter
from .base import Importer
from .focus import FocusImporter
from .generic import GenericCsvImporter
from .litellm import LiteLLMDailySpendImporter, LiteLLMSpendLogsImporter
from .openai import OpenAICostsImporter, OpenAIUsageImporter

# Detection order: the most specific formats first; the generic CSV last, since a FOCUS or LiteLLM file
# could otherwise pass for it.
IMPORTERS: dict[str, type[Importer]] = {
    importer.name: importer
    for importer in (
        FocusImporter,
        LiteLLMDailySpendImporter,
        LiteLLMSpendLogsImporter,
        OpenAIUsageImporter,
        OpenAICostsImporter,
        AnthropicUsageImporter,
        AnthropicCostImporter,
        GenericCsvImporter,
    )
}


def detect(head: bytes, filename: str = "") -> str | None:
    """The name of the first importer that recognises the file's first bytes, or None."""
    for name, importer in IMPORTERS.items():
        try:
            if importer.sniff(head, filename):
                return name
        except (ValueError, UnicodeError):
            continue
    return None


def get_importer(name: str) -> Importer:
    """A fresh importer; KeyError names the known formats."""
    try:
        return IMPORTERS[name]()
    except KeyError:
        raise KeyError(f"Unknown import format {name!r}; known: {', '.join(IMPORTERS)}") from None


def label_choices() -> list[tuple[str, str]]:
    """(name, label) pairs for a form's format dropdown, in detection order."""
    return [(name, importer.label) for name, importer in IMPORTERS.items()]
