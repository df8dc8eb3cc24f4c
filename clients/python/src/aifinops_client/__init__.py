"""aifinops in the call path: authorize before a model call, report its usage after it.

See clients/python/README.md and docs/integration.md. The LiteLLM callback is in
`aifinops_client.litellm` (it imports LiteLLM, so it is not imported here).
"""

__version__ = "0.1.0"

from .batcher import UsageBatcher
from .client import AifinopsError, ApiError, Client, Denied, Unreachable, denial_status
from .guard import Call, Guard, usage_tokens

__all__ = [
    "AifinopsError",
    "ApiError",
    "Call",
    "Client",
    "Denied",
    "Guard",
    "Unreachable",
    "UsageBatcher",
    "denial_status",
    "usage_tokens",
]
